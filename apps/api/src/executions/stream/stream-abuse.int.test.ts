import { afterEach, describe, expect, it } from 'vitest';
import { createApiHarness, type ApiHarness } from '../../testing/api-harness.ts';
import { createFakeRun, metricValue } from '../../testing/stream-fixture.ts';
import { openStream, wsBase } from '../../testing/ws-client.ts';

const harnesses: ApiHarness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.close()));
});

async function streamOfIdleExecution() {
  const h = await createApiHarness({ ws: { maxBufferedBytes: 64 * 1024, drainTimeoutMs: 500 } });
  harnesses.push(h);
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const run = await createFakeRun(h);
  const id = await run.newExecution();
  const client = await openStream(`${wsBase(h.app)}/api/executions/${id}/logs/stream`, {
    authorization: `Bearer ${h.adminKey}`,
  });
  return { h, client };
}

describe('log stream: pings', () => {
  it('are answered while the client reads', async () => {
    const { client } = await streamOfIdleExecution();
    const pong = new Promise<string>((resolve) =>
      client.ws.once('pong', (d) => resolve(String(d))),
    );
    client.ws.ping('hello');
    expect(await pong).toBe('hello');
    client.ws.close();
    await client.closed;
  });

  it('from a client that never reads close it (1008) instead of growing the buffer of pongs', async () => {
    // ARRANGE: an idle execution (the server sends nothing of its own), a client that stops reading.
    const { h, client } = await streamOfIdleExecution();
    client.ws.pause();
    const server = () => [...h.app.websocketServer.clients][0];
    // ACT: pings, far more pong bytes than the 64 KiB cap plus what the kernel buffers.
    const payload = Buffer.alloc(125, 1);
    for (let round = 0; round < 40 && server() !== undefined; round++) {
      for (let i = 0; i < 5_000; i++) client.ws.ping(payload);
      await new Promise((resolve) => setTimeout(resolve, 100));
      // Before the fix this grew by ~600 kB a round, without end.
      expect(server()?.bufferedAmount ?? 0).toBeLessThan(4 * 1024 * 1024);
    }
    // ASSERT: closed as a slow consumer; the server holds no socket any more.
    const slowClosed = 'linkflow_ws_streams_closed_total{reason="slow_consumer"}';
    await expect.poll(() => metricValue(h, slowClosed), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => h.app.websocketServer.clients.size, { timeout: 10_000 }).toBe(0);
    client.ws.resume();
    expect([1008, 1006]).toContain((await client.closed).code);
  }, 60_000);
});
