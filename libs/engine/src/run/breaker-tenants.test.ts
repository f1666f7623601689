import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import type { NodeSpec } from '@linkflow/domain';
import { createNodeRegistry, NodeError, type NodeDefinition } from '@linkflow/nodes';
import { compileTestWorkflow, withNodeDeps } from '../testing/node-runner-fakes.ts';
import { runNode } from './node-runner.ts';

// Hostile tenant: a target (`host:port`) is called by every tenant on the executor, and a
// breaker's first caller's `circuit_breaker` block sets its thresholds. One tenant's
// block (volume 1, error_percent 1, reset_ms 24 h) plus one failed call of its own (here a
// 503; a breaker timeout_ms of 1 does the same against any healthy host) must not make
// another tenant's healthy calls to that host fail CIRCUIT_OPEN for a day.

/** A shared public API: the hostile tenant's calls fail (retryable), the victim's succeed. */
const api: NodeDefinition = {
  type: 'http',
  version: 1,
  configSchema: Type.Object({}, { additionalProperties: true }),
  rawFields: [],
  breakerKey: () => 'api.example.com:443',
  execute: (ctx) =>
    ctx.tenantId === 'evil'
      ? Promise.reject(new NodeError('EXECUTION', 'HTTP 503', { retryable: true }))
      : Promise.resolve({ output: { ok: true }, usage: {} }),
};
const registry = createNodeRegistry([api]);

function compiled(spec: Partial<NodeSpec>) {
  const node = compileTestWorkflow(
    {
      name: 'w',
      nodes: [{ id: 'call', type: 'http', config: {}, retry: { max_attempts: 1 }, ...spec }],
    },
    registry,
  ).nodes.get('call');
  if (node === undefined) throw new TypeError('no node');
  return node;
}

const request = (tenantId: string) => ({
  input: { input: {}, nodes: {}, execution: { id: 'e', workflow_id: 'w', attempt: 1 } },
  signal: new AbortController().signal,
  tenantId,
});

describe('breakers shared across tenants', () => {
  it("one tenant's circuit_breaker block and failures do not open another tenant's calls", async () => {
    const hostile = compiled({
      circuit_breaker: { volume: 1, error_percent: 1, reset_ms: 86_400_000 },
    });
    const healthy = compiled({});
    const [first, victim] = await withNodeDeps(registry, { maxOutputBytes: 1024 }, async (deps) => [
      await runNode(deps, hostile, request('evil')),
      await runNode(deps, healthy, request('victim')),
    ]);
    expect(first?.error?.type).toBe('EXECUTION');
    expect(victim?.error).toBeNull();
    expect(victim?.status).toBe('success');
  });
});
