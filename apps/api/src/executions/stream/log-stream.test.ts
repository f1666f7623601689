import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import type { ExecutionStreamState } from '@linkflow/store';
import type { EventHub, HubListener } from './event-hub.ts';
import { LogStream } from './log-stream.ts';

/** A socket that records what is sent and never backs up. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: { kind: string; status?: string }[] = [];
  send(data: string) {
    this.sent.push(JSON.parse(data) as { kind: string });
  }
  close() {
    this.readyState = 3;
    this.emit('close');
  }
  terminate() {
    this.close();
  }
}

const silent = { warn: () => undefined, error: () => undefined } as unknown as FastifyBaseLogger;
const running: ExecutionStreamState = { status: 'running', logSeq: 0, finishedAt: null };
const succeeded: ExecutionStreamState = { status: 'success', logSeq: 0, finishedAt: new Date(0) };

/** Resolves after `depth` microtask hops. */
async function hops(depth: number): Promise<void> {
  for (let i = 0; i < depth; i++) await Promise.resolve();
}

/**
 * A stream whose first Postgres read of the state also makes the hub's check report the
 * execution terminal, `depth` microtasks later: somewhere while the stream's queue runs,
 * somewhere just after it ran dry.
 */
async function streamWithCheckAfter(depth: number): Promise<FakeSocket> {
  const socket = new FakeSocket();
  let listener: HubListener | undefined;
  const hub = {
    watch: (_id: string, l: HubListener) => {
      listener = l;
      return Promise.resolve(() => undefined);
    },
  } as unknown as EventHub;
  const stream = new LogStream(socket as unknown as WebSocket, 'e1', 0, {
    logs: { list: () => Promise.resolve([]) },
    hub,
    readState: () => {
      void hops(depth).then(() => listener?.onCheck(succeeded));
      return Promise.resolve(running);
    },
    maxBufferedBytes: 1024,
    drainTimeoutMs: 1_000,
    log: silent,
    onClosed: () => undefined,
  });
  await stream.start();
  return socket;
}

describe('LogStream', () => {
  it('handles a check that arrives just as its queue runs dry (it is not left queued)', async () => {
    for (let depth = 0; depth < 40; depth++) {
      const socket = await streamWithCheckAfter(depth);
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(socket.sent.at(-1), `check after ${depth} microtasks`).toEqual({
        kind: 'end',
        status: 'success',
      });
    }
  });
});
