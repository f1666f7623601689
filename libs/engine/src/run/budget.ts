import { parseMoney, type Outcome, type WorkflowDefinition } from '@linkflow/domain';

/**
 * An execution's budget (`settings.max_cost`): the running total of its settled nodes' costs
 * in exact 1e-8 USD units, and the verdict before a node starts.
 */
export class Budget {
  private spent: bigint;
  private readonly limit: bigint | undefined;

  /** `spentUnits`: what the checkpoints of an earlier attempt already cost (exact bigint units). */
  constructor(definition: WorkflowDefinition, spentUnits = 0n) {
    const max = definition.settings?.max_cost;
    this.limit = max === undefined ? undefined : parseMoney(max);
    this.spent = spentUnits;
  }

  /** Adds a settled node's cost (a decimal USD string). */
  charge(cost: string): void {
    this.spent += parseMoney(cost);
  }

  get reached(): boolean {
    return this.limit !== undefined && this.spent >= this.limit;
  }

  /** The failed outcome for `nodeId`, the node that did not start because the budget is spent. */
  stop(nodeId: string, max: string): Outcome {
    return {
      status: 'failed',
      error: {
        type: 'BUDGET',
        message: `node ${nodeId} not started: the execution's cost reached its budget of ${max} USD`,
        node_id: nodeId,
      },
    };
  }
}
