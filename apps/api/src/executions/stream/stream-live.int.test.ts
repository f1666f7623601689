import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executionEventsChannel } from '@linkflow/queue';
import { createApiHarness, type ApiHarness } from '../../testing/api-harness.ts';
import { createFakeRun, type FakeRun } from '../../testing/stream-fixture.ts';
import { openStream, wsBase, type StreamClient } from '../../testing/ws-client.ts';

let h: ApiHarness;
let run: FakeRun;
beforeAll(async () => {
  h = await createApiHarness();
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  run = await createFakeRun(h);
});
afterAll(async () => h.close());

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

function connect(id: string, query = ''): Promise<StreamClient> {
  return openStream(`${wsBase(h.app)}/api/executions/${id}/logs/stream${query}`, {
    authorization: `Bearer ${h.adminKey}`,
  });
}

/** Asserts the stream ended: last two messages are the terminal status and `end`, close 1000. */
async function expectEnded(client: StreamClient, status: string) {
  expect(await client.closed).toEqual({ code: 1000, reason: 'end' });
  expect(client.messages.slice(-2)).toEqual([
    { kind: 'status', status, at: expect.any(String) },
    { kind: 'end', status },
  ]);
}

describe('log stream: replay then live', () => {
  it('replays stored entries after N, streams live ones and status, then ends', async () => {
    const id = await run.newExecution();
    await run.write(id, 5);
    const client = await connect(id, '?after=2');
    await expect.poll(() => client.seqs()).toEqual([3, 4, 5]);
    await run.write(id, 3);
    await expect.poll(() => client.seqs()).toEqual(range(3, 8));
    expect(client.messages[0]).toEqual({
      kind: 'log',
      entry: {
        seq: 3,
        at: expect.any(String),
        level: 'info',
        node_id: 'n1',
        message: 'line 2',
        data: { i: 2 },
      },
    });
    // ACT: the API cancels the pending execution and says so on the channel.
    expect((await h.request('POST', `/api/executions/${id}/cancel`)).statusCode).toBe(200);
    await expectEnded(client, 'cancelled');
  });

  it('has no gap and no duplicate when entries arrive during the replay', async () => {
    const id = await run.newExecution();
    await run.write(id, 1200);
    // ACT: connect (the replay pages through 1,200 stored entries) while 300 more arrive.
    const connecting = connect(id);
    const writing = (async () => {
      for (let i = 0; i < 30; i++) await run.write(id, 10);
    })();
    const client = await connecting;
    await writing;
    await run.succeed(id);
    // ASSERT
    await expectEnded(client, 'success');
    expect(client.seqs()).toEqual(range(1, 1500));
  });

  it('reads entries pub/sub lost from Postgres: at the next live entry, or at the check', async () => {
    const id = await run.newExecution();
    const client = await connect(id);
    await run.write(id, 2);
    await run.write(id, 3, { publish: false });
    await run.write(id, 1);
    await expect.poll(() => client.seqs()).toEqual(range(1, 6));
    await run.write(id, 2, { publish: false });
    await expect.poll(() => client.seqs(), { timeout: 5_000 }).toEqual(range(1, 8));
    // A terminal status whose event is lost is found by the check too.
    await run.succeed(id, { publish: false });
    await expectEnded(client, 'success');
  });

  it('replays and ends at once on a terminal execution', async () => {
    const id = await run.newExecution();
    await run.write(id, 4);
    await run.succeed(id);
    const client = await connect(id, '?after=1');
    await expectEnded(client, 'success');
    expect(client.seqs()).toEqual([2, 3, 4]);
    expect(client.messages).toHaveLength(5);
  });
});

describe('log stream: one subscriber per process', () => {
  it('subscribes each execution channel once however many sockets follow it', async () => {
    const [a, b] = [await run.newExecution(), await run.newExecution()];
    const clients = await Promise.all([connect(a), connect(a), connect(a), connect(b)]);
    const numsub = async (id: string) =>
      (await h.redis.pubsub('NUMSUB', executionEventsChannel(id)))[1];
    expect(h.hub.channelCount).toBe(2);
    expect([await numsub(a), await numsub(b)]).toEqual([1, 1]);
    // Every socket still gets every entry.
    await run.write(a, 2);
    for (const c of clients.slice(0, 3)) await expect.poll(() => c.seqs()).toEqual([1, 2]);
    // Closing two of three keeps the channel; the last one releases it.
    for (const c of clients.slice(0, 2)) c.ws.close();
    await Promise.all(clients.slice(0, 2).map((c) => c.closed));
    expect(await numsub(a)).toBe(1);
    for (const c of clients.slice(2)) c.ws.close();
    await Promise.all(clients.map((c) => c.closed));
    await expect.poll(() => h.hub.channelCount).toBe(0);
    await expect.poll(async () => [await numsub(a), await numsub(b)]).toEqual([0, 0]);
  });
});

describe('log stream: client frames', () => {
  it('closes a stream the client writes to with 1008 (1009 past 1 KiB); others go on', async () => {
    const id = await run.newExecution();
    const text = await connect(id);
    const binary = await connect(id);
    const huge = await connect(id);
    const quiet = await connect(id);
    text.ws.send('not json at all');
    binary.ws.send(Buffer.from([0xff, 0x00, 0xfe]));
    huge.ws.send('x'.repeat(4096));
    expect((await text.closed).code).toBe(1008);
    expect((await binary.closed).code).toBe(1008);
    expect((await huge.closed).code).toBe(1009);
    await run.write(id, 1);
    await expect.poll(() => quiet.seqs()).toEqual([1]);
    const later = await connect(id);
    await expect.poll(() => later.seqs()).toEqual([1]);
    for (const c of [quiet, later]) c.ws.close();
  });
});
