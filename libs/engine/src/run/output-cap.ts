import type { Outcome, ReturnedOutcome } from '@linkflow/domain';

/** Default of `LINKFLOW_MAX_EXECUTION_OUTPUT_BYTES`: one full-size node output. */
export const DEFAULT_MAX_EXECUTION_OUTPUT_BYTES = 10 * 1024 * 1024;

/**
 * Bytes of an execution output: the sum of its sinks' outputs as JSON, counted sink by sink
 * and only up to just past `limit`, so a thousand 10 MiB sinks are never joined into one
 * string to learn that they are too many.
 */
export function executionOutputBytes(
  output: Readonly<Record<string, unknown>>,
  limit: number,
): number {
  let bytes = 0;
  for (const value of Object.values(output)) {
    bytes += Buffer.byteLength(JSON.stringify(value ?? null));
    if (bytes > limit) return bytes;
  }
  return bytes;
}

/** The caps {@link capExecutionOutput} applies. */
export interface OutputCaps {
  /** LINKFLOW_MAX_EXECUTION_OUTPUT_BYTES: the sinks' outputs together. */
  readonly maxBytes: number;
  /** LINKFLOW_MAX_OUTPUT_BYTES: each node output is already at most this. */
  readonly nodeMaxBytes: number;
}

/**
 * A successful outcome whose sinks' outputs add up to more than `maxBytes` becomes a failure
 * (EXECUTION, no node) rather than a huge `executions.output`; the sinks' own outputs stay on
 * their node runs. Nothing is measured when the node cap alone keeps the sinks under it (a
 * single sink with the default caps). Any other outcome passes through.
 */
export function capExecutionOutput(
  outcome: Outcome | ReturnedOutcome,
  caps: OutputCaps,
): Outcome | ReturnedOutcome {
  if (outcome.status !== 'success') return outcome;
  if ('returned' in outcome) {
    // A returned value is one value, at most a node output: measured only when that can exceed.
    if (caps.nodeMaxBytes <= caps.maxBytes) return outcome;
    const bytes = executionOutputBytes({ value: outcome.output }, caps.maxBytes);
    return bytes <= caps.maxBytes ? outcome : overCap(1, caps.maxBytes);
  }
  const sinks = Object.keys(outcome.output).length;
  if (sinks * caps.nodeMaxBytes <= caps.maxBytes) return outcome;
  if (executionOutputBytes(outcome.output, caps.maxBytes) <= caps.maxBytes) return outcome;
  return overCap(sinks, caps.maxBytes);
}

function overCap(sinks: number, maxBytes: number): Outcome {
  return {
    status: 'failed',
    error: {
      type: 'EXECUTION',
      node_id: null,
      message:
        `execution output (${sinks} sink nodes) is over the ${maxBytes}-byte limit ` +
        '(LINKFLOW_MAX_EXECUTION_OUTPUT_BYTES); each sink output is still on its node run',
    },
  };
}

/** How many execution output caps of node outputs one run may hold in memory by default. */
export const RETAINED_OUTPUT_FACTOR = 4;

/**
 * The bytes of node outputs one DAG run holds in memory (every successful node's output
 * stays there for later templates and the final output). Past `maxBytes` the run fails with
 * EXECUTION as soon as it happens, not only at the end: sixty 9 MB sinks would otherwise fill
 * the heap before the execution output cap is ever checked.
 */
export class RetainedOutputs {
  #bytes: number;

  /** `resumed`: outputs already held (checkpointed nodes of a resumed run). */
  constructor(
    readonly maxBytes: number,
    resumed: Readonly<Record<string, unknown>> = {},
  ) {
    this.#bytes = executionOutputBytes(resumed, maxBytes);
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Counts one more output. @returns the failure when the run now holds too much */
  add(nodeId: string, bytes: number): Outcome | undefined {
    this.#bytes += bytes;
    if (this.#bytes <= this.maxBytes) return undefined;
    return {
      status: 'failed',
      error: {
        type: 'EXECUTION',
        node_id: nodeId,
        message:
          `node outputs held by this execution add up to ${this.#bytes} bytes, over the ` +
          `${this.maxBytes}-byte limit (LINKFLOW_MAX_RETAINED_OUTPUT_BYTES)`,
      },
    };
  }
}
