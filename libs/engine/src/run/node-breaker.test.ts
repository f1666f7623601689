import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import type { CircuitBreakerSpec } from '@linkflow/domain';
import { createNodeRegistry, NodeError, type NodeDefinition } from '@linkflow/nodes';
import { compileTestWorkflow, withNodeDeps } from '../testing/node-runner-fakes.ts';
import { runNode } from './node-runner.ts';

/** An `http`-typed node whose target is always `fake:80` and whose calls all fail (503). */
function downNode(calls: { n: number }): NodeDefinition {
  return {
    type: 'http',
    version: 1,
    configSchema: Type.Object({}, { additionalProperties: true }),
    rawFields: [],
    breakerKey: () => 'fake:80',
    execute: () => {
      calls.n += 1;
      return Promise.reject(new NodeError('EXECUTION', 'HTTP 503', { retryable: true }));
    },
  };
}

/** Runs the node twice on shared breakers; the error types of both runs and the calls made. */
async function twice(block: CircuitBreakerSpec | undefined) {
  const calls = { n: 0 };
  const registry = createNodeRegistry([downNode(calls)]);
  const node = compileTestWorkflow(
    {
      name: 'w',
      nodes: [
        {
          id: 'call',
          type: 'http',
          config: {},
          retry: { max_attempts: 1 },
          ...(block && { circuit_breaker: block }),
        },
      ],
    },
    registry,
  ).nodes.get('call');
  if (node === undefined) throw new TypeError('no node');
  const request = {
    input: { input: {}, nodes: {}, execution: { id: 'e', workflow_id: 'w', attempt: 1 } },
    signal: new AbortController().signal,
    tenantId: 't',
  };
  const types = await withNodeDeps(registry, { maxOutputBytes: 1024 }, async (deps) => [
    (await runNode(deps, node, request)).error?.type,
    (await runNode(deps, node, request)).error?.type,
  ]);
  return { types, calls: calls.n };
}

describe('a node circuit_breaker block', () => {
  it('sets the thresholds of the breaker its call makes', async () => {
    // volume 1: the first counted failure opens it; the second run never calls the target
    expect(await twice({ volume: 1, error_percent: 50 })).toEqual({
      types: ['EXECUTION', 'CIRCUIT_OPEN'],
      calls: 1,
    });
  });

  it('leaves the registry defaults (volume 5) without a block', async () => {
    expect(await twice(undefined)).toEqual({ types: ['EXECUTION', 'EXECUTION'], calls: 2 });
  });
});
