import type { FastifyBaseLogger } from 'fastify';
import {
  decodeExecutionEvents,
  executionEventsChannel,
  type ExecutionEvent,
  type Redis,
} from '@linkflow/queue';
import type { ExecutionStreamState } from '@linkflow/store';

/** What a stream hears about one execution. Both calls are synchronous: queue, never await. */
export interface HubListener {
  /** A live event from the execution's Redis channel. */
  onEvent(event: ExecutionEvent): void;
  /** The periodic Postgres check: status and last stored seq (lost messages, Redis down). */
  onCheck(state: ExecutionStreamState): void;
}

/** Fans one Redis subscriber connection out to every stream of this process. */
export interface EventHub {
  /**
   * Adds a listener for one execution and resolves once its channel is subscribed, or after
   * `subscribeWaitMs` when Redis does not answer (streams then live on the periodic check
   * until ioredis reconnects and re-subscribes). Resolves to the function that removes it;
   * the channel is unsubscribed when its last listener goes.
   */
  watch(executionId: string, listener: HubListener): Promise<() => void>;
  /** Channels subscribed now (one per execution being streamed). */
  readonly channelCount: number;
  /** Stops every check timer and forgets every listener (the connection stays the caller's). */
  close(): void;
}

export interface EventHubDeps {
  /** A connection dedicated to pub/sub (`createRedis(url, { role: 'subscriber' })`). */
  readonly subscriber: Redis;
  readonly readState: (executionId: string) => Promise<ExecutionStreamState | undefined>;
  readonly checkIntervalMs: number;
  readonly log: FastifyBaseLogger;
  readonly subscribeWaitMs?: number;
}

interface Entry {
  readonly executionId: string;
  readonly channel: string;
  readonly listeners: Set<HubListener>;
  readonly subscribed: Promise<void>;
  timer: NodeJS.Timeout | undefined;
  checking: boolean;
}

function forEachListener(entry: Entry, call: (l: HubListener) => void, log: FastifyBaseLogger) {
  for (const listener of [...entry.listeners]) {
    try {
      call(listener);
    } catch (err) {
      log.error({ err, executionId: entry.executionId }, 'stream listener failed');
    }
  }
}

/**
 * One SUBSCRIBE per execution channel however many sockets follow it (refcounted), and one
 * Postgres check per execution per interval, shared by its sockets. Messages are decoded
 * once and handed to every listener.
 */
export function createEventHub(deps: EventHubDeps): EventHub {
  const { subscriber, log } = deps;
  const byChannel = new Map<string, Entry>();
  const onMessage = (channel: string, raw: string) => {
    const entry = byChannel.get(channel);
    if (entry === undefined) return;
    const decoded = decodeExecutionEvents(raw, channel);
    if (!decoded.ok) return log.warn({ err: decoded.error, channel }, 'bad execution event');
    for (const event of decoded.value) forEachListener(entry, (l) => l.onEvent(event), log);
  };
  subscriber.on('message', onMessage);

  const check = async (entry: Entry) => {
    if (entry.checking) return;
    entry.checking = true;
    try {
      const state = await deps.readState(entry.executionId);
      if (state !== undefined) forEachListener(entry, (l) => l.onCheck(state), log);
    } catch (err) {
      log.warn({ err, executionId: entry.executionId }, 'stream check failed; retrying');
    } finally {
      entry.checking = false;
    }
  };

  const open = (executionId: string): Entry => {
    const channel = executionEventsChannel(executionId);
    const subscribed = subscriber.subscribe(channel).then(
      () => undefined,
      (err: unknown) => log.warn({ err, channel }, 'subscribe failed; the stream polls Postgres'),
    );
    const entry: Entry = {
      executionId,
      channel,
      listeners: new Set(),
      subscribed,
      timer: undefined,
      checking: false,
    };
    entry.timer = setInterval(() => void check(entry), deps.checkIntervalMs);
    byChannel.set(channel, entry);
    return entry;
  };

  const release = (entry: Entry, listener: HubListener) => {
    if (!entry.listeners.delete(listener) || entry.listeners.size > 0) return;
    clearInterval(entry.timer);
    if (byChannel.get(entry.channel) !== entry) return;
    byChannel.delete(entry.channel);
    // Commands on one connection run in order: a later SUBSCRIBE of the channel wins.
    subscriber
      .unsubscribe(entry.channel)
      .catch((err: unknown) => log.warn({ err, channel: entry.channel }, 'unsubscribe failed'));
  };

  return {
    async watch(executionId, listener) {
      const channel = executionEventsChannel(executionId);
      const entry = byChannel.get(channel) ?? open(executionId);
      entry.listeners.add(listener);
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, deps.subscribeWaitMs ?? 1_000);
      });
      await Promise.race([entry.subscribed, waited]);
      clearTimeout(timer);
      return () => release(entry, listener);
    },
    get channelCount() {
      return byChannel.size;
    },
    close() {
      for (const entry of byChannel.values()) clearInterval(entry.timer);
      byChannel.clear();
      subscriber.off('message', onMessage);
    },
  };
}
