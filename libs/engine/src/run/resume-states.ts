import { parseMoney, type ClaimedExecution, type NodeState } from '@linkflow/domain';
import { NO_ITERATION } from './scope-runtime.ts';

const SETTLED = new Set(['success', 'failed', 'skipped', 'cancelled']);

/**
 * Node states from earlier attempts, by foreach iteration (`-1`: outside loops): settled
 * nodes keep their results; the rest re-run. The main DAG reads iteration -1; scopes read
 * their members' rows of their iteration.
 */
export function resumeStates(exec: ClaimedExecution): Map<number, Map<string, NodeState>> {
  const byIteration = new Map<number, Map<string, NodeState>>([[NO_ITERATION, new Map()]]);
  for (const cp of exec.checkpoints) {
    if (!SETTLED.has(cp.status)) continue;
    const iteration = cp.iteration ?? NO_ITERATION;
    let states = byIteration.get(iteration);
    if (states === undefined) byIteration.set(iteration, (states = new Map<string, NodeState>()));
    states.set(cp.nodeId, { status: cp.status, output: cp.output, error: cp.error });
  }
  return byIteration;
}

/**
 * What the execution's node runs already cost, in 1e-8 USD units (the budget's starting
 * total): settled checkpoints and the charge of runs a recover put back to `pending` (a
 * rerun adds to its failed run's charge, so the budget must count it too).
 */
export function checkpointedCost(exec: ClaimedExecution): bigint {
  let units = 0n;
  for (const cp of exec.checkpoints) units += parseMoney(cp.cost ?? '0');
  return units;
}
