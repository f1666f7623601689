import type { Outcome } from '@linkflow/domain';

/** Default of `LINKFLOW_MAX_EXECUTION_OUTPUT_BYTES`: one full-size node output. */
export const DEFAULT_MAX_EXECUTION_OUTPUT_BYTES = 10 * 1024 * 1024;

/**
 * Bytes of the execution output as stored (`{"<sink>": <output>, …}`), counted sink by sink
 * and only up to just past `limit`: a thousand 10 MiB sinks are never joined into one string
 * to learn that they are too many.
 */
export function executionOutputBytes(
  output: Readonly<Record<string, unknown>>,
  limit: number,
): number {
  let bytes = 1; // {  (each entry then adds its "id":value and a comma or the closing brace)
  for (const [id, value] of Object.entries(output)) {
    bytes += Buffer.byteLength(JSON.stringify(id)) + 1 + 1;
    bytes += Buffer.byteLength(JSON.stringify(value ?? null));
    if (bytes > limit) return bytes;
  }
  return Math.max(bytes, 2);
}

/**
 * A successful outcome whose output is over `limit` bytes becomes a failure (EXECUTION,
 * no node) rather than a huge `executions.output`; the sinks' own outputs stay on their
 * node runs. Any other outcome passes through.
 */
export function capExecutionOutput(outcome: Outcome, limit: number): Outcome {
  if (outcome.status !== 'success') return outcome;
  const bytes = executionOutputBytes(outcome.output, limit);
  if (bytes <= limit) return outcome;
  const sinks = Object.keys(outcome.output).length;
  return {
    status: 'failed',
    error: {
      type: 'EXECUTION',
      node_id: null,
      message:
        `execution output (${sinks} sink node${sinks === 1 ? '' : 's'}) is over the ` +
        `${limit}-byte limit (LINKFLOW_MAX_EXECUTION_OUTPUT_BYTES); ` +
        'each sink output is still on its node run',
    },
  };
}
