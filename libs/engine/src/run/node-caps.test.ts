import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import {
  MAX_ERROR_MESSAGE_BYTES,
  MAX_LOG_DATA_BYTES,
  MAX_LOG_MESSAGE_BYTES,
} from '@linkflow/domain';
import {
  createNodeRegistry,
  createTransformNode,
  NodeError,
  type NodeDefinition,
} from '@linkflow/nodes';
import { runTestNode } from '../testing/node-runner-fakes.ts';

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
    const result = await runTestNode(
      createNodeRegistry([noisyNode]),
      { name: 'w', nodes: [{ id: 'noisy', type: 'code', config: {} }] },
      'noisy',
      { maxOutputBytes: 1024 },
    );

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
    const result = await runTestNode(
      createNodeRegistry([flakyNode]),
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
      'flaky',
      { maxOutputBytes: 1024 },
    );
    expect(result.error?.type).toBe('RETRY_EXHAUSTED');
    expect(Buffer.byteLength(result.error?.message ?? '')).toBeLessThanOrEqual(
      MAX_ERROR_MESSAGE_BYTES,
    );
    expect(Buffer.byteLength(result.error?.cause?.message ?? '')).toBeLessThanOrEqual(
      MAX_ERROR_MESSAGE_BYTES,
    );
  });
});

describe('runNode error text', () => {
  it('drops a tenant’s NUL and turns a lone surrogate into U+FFFD in an error message (Postgres holds neither)', async () => {
    // ARRANGE: a transform that fails with text Postgres cannot store
    const registry = createNodeRegistry([createTransformNode()]);
    const expression = '$error("a\\u0000b\\ud800c")';
    const workflow = { name: 'w', nodes: [{ id: 't', type: 'transform', config: { expression } }] };
    // ACT
    const result = await runTestNode(registry, workflow, 't', { maxOutputBytes: 1 << 20 });
    // ASSERT: the error, its attempt record and its log line all carry storable text
    expect(result.status).toBe('failed');
    expect(result.error?.message).toContain('ab\ufffdc');
    expect(result.attemptLog[0]?.error?.message).toContain('ab\ufffdc');
    expect(JSON.stringify(result.logs)).not.toMatch(/\\u0000|\\ud800/);
  });
});
