import { afterEach, describe, expect, it } from 'vitest';
import { createDb } from '@linkflow/store';
import { testDatabaseUrl, testRedisUrl } from '../../../../../test/fixtures.ts';
import { createApiHarness, type ApiHarness } from '../../testing/api-harness.ts';
import { createFakeRun, metricValue, startTcpProxy } from '../../testing/stream-fixture.ts';
import { openStream, wsBase, type StreamClient } from '../../testing/ws-client.ts';

const harnesses: ApiHarness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.close()));
});

async function listening(options: Parameters<typeof createApiHarness>[0] = {}) {
  const h = await createApiHarness(options);
  harnesses.push(h);
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  return { h, run: await createFakeRun(h) };
}

const connect = (h: ApiHarness, id: string): Promise<StreamClient> =>
  openStream(`${wsBase(h.app)}/api/executions/${id}/logs/stream`, {
    authorization: `Bearer ${h.adminKey}`,
  });

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('log stream: a client that does not read', () => {
  it('is closed with 1008 once its buffer stays over the cap; the server holds no more', async () => {
    // ARRANGE: a 64 KiB cap, half a second to drain.
    const { h, run } = await listening({
      ws: { maxBufferedBytes: 64 * 1024, drainTimeoutMs: 500 },
    });
    const id = await run.newExecution();
    const slow = await connect(h, id);
    const reader = await connect(h, id);
    slow.ws.pause();
    // ACT: 24 MB of entries (more than the kernel's socket buffers take), live only.
    for (let i = 0; i < 8; i++) run.publishOnly(id, range(i * 100 + 1, i * 100 + 100), 30_000);
    // ASSERT: the server gave up on the slow one; the one that reads got everything.
    const slowClosed = 'linkflow_ws_streams_closed_total{reason="slow_consumer"}';
    await expect.poll(() => metricValue(h, slowClosed), { timeout: 20_000 }).toBe(1);
    await expect.poll(() => reader.seqs().length, { timeout: 20_000 }).toBe(800);
    expect(await metricValue(h, 'linkflow_ws_streams')).toBe(1);
    slow.ws.resume();
    expect((await slow.closed).code).toBe(1008);
    expect(slow.seqs().length).toBeLessThan(800);
    reader.ws.close();
  }, 60_000);
});

describe('log stream: app.close()', () => {
  it('closes open streams with 1001, a paused one included, and does not hang', async () => {
    const { h, run } = await listening();
    const id = await run.newExecution();
    const open = await connect(h, id);
    const paused = await connect(h, id);
    paused.ws.pause();
    const started = Date.now();
    await h.app.close();
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await open.closed).toEqual({ code: 1001, reason: 'shutdown' });
    paused.ws.resume();
    expect([1001, 1006]).toContain((await paused.closed).code);
  }, 30_000);
});

describe('log stream: the Redis subscriber vanishes mid-stream', () => {
  it('falls back to the Postgres check: entries and the end still arrive', async () => {
    // ARRANGE: the API's subscriber goes through a proxy the test cuts; publishers do not.
    const proxy = await startTcpProxy(Number(new URL(testRedisUrl()).port || 6379));
    const { h, run } = await listening({ subscriberUrl: proxy.url, ws: { checkIntervalMs: 300 } });
    const id = await run.newExecution();
    const client = await connect(h, id);
    await run.write(id, 2);
    await expect.poll(() => client.seqs()).toEqual([1, 2]);
    // ACT: Redis is gone for the subscriber (reconnects are refused).
    await proxy.cut();
    await expect.poll(() => h.subscriber.status).not.toBe('ready');
    await run.write(id, 3);
    await run.succeed(id);
    // ASSERT: no gap, no duplicate, a normal end.
    expect(await client.closed).toEqual({ code: 1000, reason: 'end' });
    expect(client.seqs()).toEqual(range(1, 5));
    expect(client.messages.at(-1)).toEqual({ kind: 'end', status: 'success' });
  }, 30_000);
});

describe('log stream: Postgres vanishes mid-stream', () => {
  it('keeps streaming consecutive live entries, holds back a gap, and fills it once Postgres is back', async () => {
    // ARRANGE: the API reaches Postgres through a proxy the test cuts; the fake executor does not.
    const direct = new URL(testDatabaseUrl());
    const proxy = await startTcpProxy(Number(direct.port || 5432), 'postgresql');
    const proxied = new URL(testDatabaseUrl());
    proxied.port = String(proxy.port);
    const writer = createDb({ url: testDatabaseUrl(), maxConnections: 2 });
    try {
      const h = await createApiHarness({ databaseUrl: proxied.href, ws: { checkIntervalMs: 200 } });
      harnesses.push(h);
      await h.app.listen({ port: 0, host: '127.0.0.1' });
      const run = await createFakeRun(h, { pool: writer.pool });
      const id = await run.newExecution();
      const client = await connect(h, id);
      await run.write(id, 2);
      await expect.poll(() => client.seqs()).toEqual([1, 2]);
      // ACT 1: Postgres is gone for the API; live entries need none of it.
      await proxy.cut();
      await run.write(id, 2);
      await expect.poll(() => client.seqs()).toEqual(range(1, 4));
      // ACT 2: two entries pub/sub loses, then one it delivers: a gap the API cannot fill yet.
      await run.write(id, 2, { publish: false });
      await run.write(id, 1);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(client.seqs()).toEqual(range(1, 4));
      // ACT 3: Postgres is back; the check fills the gap, then the end arrives.
      await proxy.resume();
      await expect.poll(() => client.seqs(), { timeout: 15_000 }).toEqual(range(1, 7));
      await run.succeed(id);
      expect(await client.closed).toEqual({ code: 1000, reason: 'end' });
      expect(client.seqs()).toEqual(range(1, 7));
    } finally {
      await writer.close();
      await proxy.cut().catch(() => undefined);
    }
  }, 60_000);
});
