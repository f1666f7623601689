import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeExecutionEvents, executionEventsChannel } from './channels.ts';
import { createEventPublisher, MAX_EVENTS_PER_MESSAGE } from './event-publisher.ts';
import { createRedis, type Redis } from './redis-connection.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';

let publisher: Redis;
let subscriber: Redis;
const messages: { channel: string; raw: string }[] = [];

beforeAll(() => {
  publisher = createRedis(REDIS_URL, { role: 'producer' });
  subscriber = createRedis(REDIS_URL, { role: 'subscriber' });
  subscriber.on('message', (channel: string, raw: string) => messages.push({ channel, raw }));
});
afterAll(() => {
  publisher.disconnect();
  subscriber.disconnect();
});

async function until(count: number): Promise<void> {
  for (let i = 0; i < 200 && messages.length < count; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('createEventPublisher', () => {
  it('sends one execution’s events of one tick as one message, in order, and other executions apart', async () => {
    // ARRANGE
    const [a, b] = [randomUUID(), randomUUID()];
    await subscriber.subscribe(executionEventsChannel(a), executionEventsChannel(b));
    messages.length = 0;
    const errors: unknown[] = [];
    const events = createEventPublisher(publisher, (err) => errors.push(err));
    const at = new Date('2026-01-01T00:00:00Z');
    // ACT: one tick
    events.status(a, 'running', 'n1');
    events.logs(a, [{ at, level: 'info', nodeId: 'n1', message: 'one' }], [7]);
    events.status(a, 'success', 'n1');
    events.status(b, 'running');
    await until(2);
    events.status(a, 'success');
    await until(3);
    // ASSERT
    expect(errors).toEqual([]);
    const decoded = messages.map((m) => ({
      channel: m.channel,
      events: decodeExecutionEvents(m.raw),
    }));
    expect(decoded.map((d) => d.channel)).toEqual([
      executionEventsChannel(a),
      executionEventsChannel(b),
      executionEventsChannel(a),
    ]);
    const first = decoded[0]?.events;
    if (!first?.ok) throw new TypeError('first message did not decode');
    expect(first.value.map((e) => (e.kind === 'log' ? `log ${e.entry.seq}` : e.status))).toEqual([
      'running',
      'log 7',
      'success',
    ]);
    expect(messages[1]?.raw.startsWith('{')).toBe(true);
  });

  it('splits a large batch into messages of at most MAX_EVENTS_PER_MESSAGE events, in order', async () => {
    const id = randomUUID();
    await subscriber.subscribe(executionEventsChannel(id));
    messages.length = 0;
    const events = createEventPublisher(publisher, () => undefined);
    const at = new Date('2026-01-01T00:00:00Z');
    const count = MAX_EVENTS_PER_MESSAGE + 3;
    const lines = Array.from({ length: count }, (_, i) => ({
      at,
      level: 'info' as const,
      nodeId: 'n',
      message: `m${i}`,
    }));
    events.logs(
      id,
      lines,
      lines.map((_, i) => i + 1),
    );
    await until(2);
    const decoded = messages.map((m) => decodeExecutionEvents(m.raw));
    const sizes = decoded.map((d) => (d.ok ? d.value.length : -1));
    expect(sizes).toEqual([MAX_EVENTS_PER_MESSAGE, 3]);
    const seqs = decoded
      .flatMap((d) => (d.ok ? d.value : []))
      .map((e) => (e.kind === 'log' ? e.entry.seq : 0));
    expect(seqs).toEqual(Array.from({ length: count }, (_, i) => i + 1));
  });
});
