import type { LogLevel } from '@linkflow/domain';
import type { NodeContext, NodeInput } from '../node-definition.ts';

/** A logged line captured by {@link fakeNodeContext}. */
export interface CapturedLog {
  readonly level: LogLevel;
  readonly message: string;
}

/** A NodeContext for node tests (our own port, so a fake is fine). Log lines go to `logs`. */
export function fakeNodeContext(
  options: {
    signal?: AbortSignal;
    nodeId?: string;
    tenantId?: string;
    timeoutMs?: number;
    logs?: CapturedLog[];
  } = {},
): NodeContext {
  return {
    signal: options.signal ?? new AbortController().signal,
    clock: { now: () => new Date() },
    nodeId: options.nodeId ?? 'node',
    tenantId: options.tenantId ?? 'tenant-1',
    attempt: 1,
    timeoutMs: options.timeoutMs ?? 30_000,
    log: (level, message) => void options.logs?.push({ level, message }),
  };
}

/** An empty evaluation context: `{input: {}, nodes: {}, execution}`. */
export const EMPTY_NODE_INPUT: NodeInput = {
  input: {},
  nodes: {},
  execution: { id: 'e1', workflow_id: 'w1', attempt: 1 },
};
