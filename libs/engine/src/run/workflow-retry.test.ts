import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import { NodeError, createNodeRegistry, type NodeDefinition } from '@linkflow/nodes';
import type { WorkflowDefinition } from '@linkflow/domain';
import { runTestNode } from '../testing/node-runner-fakes.ts';

/** An http-typed node that fails with a retryable CONNECTIVITY error `failures` times, then succeeds. */
function flakyNode(failures: number, calls: string[]): NodeDefinition<never> {
  return {
    type: 'http',
    version: 1,
    configSchema: Type.Object({}),
    rawFields: [],
    execute: (ctx) => {
      calls.push(ctx.nodeId);
      if (calls.length <= failures) {
        return Promise.reject(new NodeError('CONNECTIVITY', 'connection refused'));
      }
      return Promise.resolve({ output: { ok: true }, usage: {} });
    },
  };
}

const fast = { max_attempts: 3, backoff: 'fixed', initial_delay_ms: 1 } as const;

function definition(extra: Partial<WorkflowDefinition>): WorkflowDefinition {
  return { name: 'w', nodes: [{ id: 'flaky', type: 'http', config: {} }], ...extra };
}

describe('settings.retry (workflow default retry policy)', () => {
  it('retries a node without its own policy under the workflow default', async () => {
    const calls: string[] = [];
    const registry = createNodeRegistry([flakyNode(2, calls)]);
    // ACT
    const result = await runTestNode(registry, definition({ settings: { retry: fast } }), 'flaky', {
      maxOutputBytes: 1024,
    });
    // ASSERT: two failures, then success on the third attempt
    expect(result.status).toBe('success');
    expect(result.attempts).toBe(3);
    expect(calls).toHaveLength(3);
  });

  it("lets the node's own policy win over the default", async () => {
    const calls: string[] = [];
    const registry = createNodeRegistry([flakyNode(2, calls)]);
    const def = definition({ settings: { retry: fast } });
    def.nodes[0] = { ...def.nodes[0]!, retry: { max_attempts: 2, initial_delay_ms: 1 } };
    // ACT
    const result = await runTestNode(registry, def, 'flaky', { maxOutputBytes: 1024 });
    // ASSERT: the node's 2 attempts are spent before the third would succeed
    expect(result.status).toBe('failed');
    expect(result.attempts).toBe(2);
    expect(result.error).toMatchObject({
      type: 'RETRY_EXHAUSTED',
      cause: { type: 'CONNECTIVITY' },
    });
  });

  it('does not retry without any policy', async () => {
    const calls: string[] = [];
    const registry = createNodeRegistry([flakyNode(2, calls)]);
    // ACT
    const result = await runTestNode(registry, definition({}), 'flaky', { maxOutputBytes: 1024 });
    // ASSERT
    expect(result.status).toBe('failed');
    expect(result.attempts).toBe(1);
    expect(result.error).toMatchObject({ type: 'CONNECTIVITY' });
  });
});
