import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import {
  compileWorkflow,
  MAX_ERROR_MESSAGE_BYTES,
  MAX_LOG_DATA_BYTES,
  MAX_LOG_MESSAGE_BYTES,
} from '@linkflow/domain';
import { createNodeRegistry, NodeError, type NodeDefinition } from '@linkflow/nodes';
import { BreakerRegistry } from '../breakers/breaker-registry.ts';
import { runNode } from './node-runner.ts';
import { Semaphore } from './semaphore.ts';

/** A node that logs a 100 KB message with 200 KB of data, then fails with a 1 MB message. */
const noisyNode: NodeDefinition<never> = {
  type: 'code',
  version: 1,
  configSchema: Type.Object({}),
  rawFields: [],
  execute: (ctx) => {
    ctx.log('info', 'm'.repeat(100_000), { rows: 'z'.repeat(200_000), n: 1 });
    ctx.log('info', 'small', { n: 2 });
    return Promise.reject(new NodeError('EXECUTION', 'e'.repeat(1_000_000), { retryable: false }));
  },
};

/** A node that always fails retryably with a 1 MB message. */
const flakyNode: NodeDefinition<never> = {
  type: 'http',
  version: 1,
  configSchema: Type.Object({}),
  rawFields: [],
  execute: () => Promise.reject(new NodeError('CONNECTIVITY', 'c'.repeat(1_000_000))),
};

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

describe('runNode byte caps', () => {
  it('truncates the error message and caps log messages and data where they are made', async () => {
    const registry = createNodeRegistry([noisyNode]);
    const compiled = compileWorkflow(
      { name: 'w', nodes: [{ id: 'noisy', type: 'code', config: {} }] },
      registry,
    );
    if (!compiled.ok) throw new TypeError('bad test workflow');
    const breakers = new BreakerRegistry();
    const result = await runNode(
      {
        registry,
        breakers,
        slots: new Semaphore(1),
        clock: { now: () => new Date() },
        random: () => 0.5,
        maxOutputBytes: 1024,
      },
      compiled.value.nodes.get('noisy')!,
      {
        input: { input: {}, nodes: {}, execution: { id: 'e', workflow_id: 'w', attempt: 1 } },
        signal: new AbortController().signal,
        tenantId: 't',
      },
    );
    breakers.shutdown();

    expect(result.status).toBe('failed');
    expect(Buffer.byteLength(result.error?.message ?? '')).toBeLessThanOrEqual(
      MAX_ERROR_MESSAGE_BYTES,
    );
    expect(result.error?.message).toContain('[truncated, 1000000 bytes]');
    const [big, small, settled] = result.logs;
    expect(Buffer.byteLength(big?.message ?? '')).toBeLessThanOrEqual(MAX_LOG_MESSAGE_BYTES);
    expect(big?.message).toContain('[truncated, 100000 bytes]');
    expect(bytes(big?.data)).toBeLessThan(1024);
    expect(big?.data).toMatchObject({ keys: ['rows', 'n'] });
    expect(small).toMatchObject({ message: 'small', data: { n: 2 } });
    expect(bytes(settled)).toBeLessThan(MAX_ERROR_MESSAGE_BYTES + 1024);
    expect(bytes(result.logs)).toBeLessThan(MAX_LOG_DATA_BYTES);
  });

  it('keeps a RETRY_EXHAUSTED message and its cause within 8 KiB', async () => {
    const registry = createNodeRegistry([flakyNode]);
    const compiled = compileWorkflow(
      {
        name: 'w',
        nodes: [
          {
            id: 'flaky',
            type: 'http',
            config: {},
            retry: { max_attempts: 2, initial_delay_ms: 0, max_delay_ms: 0 },
          },
        ],
      },
      registry,
    );
    if (!compiled.ok) throw new TypeError('bad test workflow');
    const breakers = new BreakerRegistry();
    const result = await runNode(
      {
        registry,
        breakers,
        slots: new Semaphore(1),
        clock: { now: () => new Date() },
        random: () => 0.5,
        maxOutputBytes: 1024,
      },
      compiled.value.nodes.get('flaky')!,
      {
        input: { input: {}, nodes: {}, execution: { id: 'e', workflow_id: 'w', attempt: 1 } },
        signal: new AbortController().signal,
        tenantId: 't',
      },
    );
    breakers.shutdown();
    expect(result.error?.type).toBe('RETRY_EXHAUSTED');
    expect(Buffer.byteLength(result.error?.message ?? '')).toBeLessThanOrEqual(
      MAX_ERROR_MESSAGE_BYTES,
    );
    expect(Buffer.byteLength(result.error?.cause?.message ?? '')).toBeLessThanOrEqual(
      MAX_ERROR_MESSAGE_BYTES,
    );
  });
});
