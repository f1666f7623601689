import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Redis } from 'ioredis';
import { err, LogLevelSchema, ok, toAppError, type AppError, type Result } from '@linkflow/domain';
import { schemaProblems } from './job-catalog.ts';
import { queueErrors } from './queue-errors.ts';

/**
 * Redis pub/sub channels. Pub/sub is fire-and-forget: a message published while nobody
 * listens is lost. That is fine because Postgres holds every log entry and transition (the
 * WebSocket replays from there) and executors re-check cancellation there.
 */

/** Channel that carries cancel signals for every execution to every executor. */
export const CANCEL_CHANNEL = 'linkflow:cancel';

/** Channel of one execution's live events. */
export function executionEventsChannel(executionId: string): string {
  return `linkflow:exec:${executionId}:events`;
}

/** Statuses a status event may carry: execution statuses, plus `skipped` for nodes. */
export const EVENT_STATUSES = [
  'pending',
  'running',
  'success',
  'failed',
  'cancelled',
  'skipped',
] as const;

/** Schema of a status event (execution status, or a node's when `node_id` is set). */
export const StatusEventSchema = Type.Object({
  kind: Type.Literal('status'),
  status: Type.Union(EVENT_STATUSES.map((s) => Type.Literal(s))),
  node_id: Type.Optional(Type.String()),
  /** The foreach iteration of a node run inside a loop body (absent otherwise). */
  iteration: Type.Optional(Type.Integer({ minimum: 0 })),
  at: Type.String(),
});

/** Schema of a log entry as stored and streamed. */
export const LogEntrySchema = Type.Object({
  seq: Type.Integer({ minimum: 1 }),
  at: Type.String(),
  level: LogLevelSchema,
  node_id: Type.Union([Type.String(), Type.Null()]),
  message: Type.String(),
  data: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
});

/** Schema of a log event. */
export const LogEventSchema = Type.Object({ kind: Type.Literal('log'), entry: LogEntrySchema });

/**
 * Schema of anything published on an execution's events channel. Extra properties are
 * tolerated so a newer publisher does not break an older subscriber during a rolling deploy.
 */
export const ExecutionEventSchema = Type.Union([StatusEventSchema, LogEventSchema]);

/**
 * Schema of a control signal to executors: `cancel` (the default) aborts a running
 * execution; `timeout` says its timeout changed and must be re-read from Postgres.
 */
export const CancelSignalSchema = Type.Object({
  execution_id: Type.String({ minLength: 1 }),
  action: Type.Optional(Type.Union([Type.Literal('cancel'), Type.Literal('timeout')])),
});

/** A status event. */
export type StatusEvent = Static<typeof StatusEventSchema>;
/** A log entry `{seq, at, level, node_id, message, data}`. */
export type LogEntry = Static<typeof LogEntrySchema>;
/** A log event. */
export type LogEvent = Static<typeof LogEventSchema>;
/** Anything published on an execution's events channel. */
export type ExecutionEvent = Static<typeof ExecutionEventSchema>;
/** A cancel signal. */
export type CancelSignal = Static<typeof CancelSignalSchema>;

function decodeWith<S extends TSchema>(
  schema: S,
  channel: string,
  raw: string,
): Result<Static<S>, AppError> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return err(queueErrors.invalidChannelMessage(channel, 'not JSON'));
  }
  if (Value.Check(schema, value)) return ok(value);
  return err(
    queueErrors.invalidChannelMessage(channel, 'unexpected shape', schemaProblems(schema, value)),
  );
}

/**
 * Decodes a message from an execution's events channel. Never throws: bad JSON or a bad
 * shape comes back as `INVALID_CHANNEL_MESSAGE`.
 */
export function decodeExecutionEvent(
  raw: string,
  channel = 'linkflow:exec:*:events',
): Result<ExecutionEvent, AppError> {
  return decodeWith(ExecutionEventSchema, channel, raw);
}

/**
 * A batch of events of one execution published as one message (what the executor's
 * publisher sends when a tick produced several: one PUBLISH instead of one per event).
 */
export const ExecutionEventBatchSchema = Type.Array(ExecutionEventSchema, { minItems: 1 });

/**
 * Decodes a message from an execution's events channel: one event, or a batch of them (in
 * order). Never throws (see {@link decodeExecutionEvent}).
 */
export function decodeExecutionEvents(
  raw: string,
  channel = 'linkflow:exec:*:events',
): Result<ExecutionEvent[], AppError> {
  if (raw.startsWith('[')) return decodeWith(ExecutionEventBatchSchema, channel, raw);
  const one = decodeExecutionEvent(raw, channel);
  return one.ok ? ok([one.value]) : one;
}

/** Decodes a cancel signal. Never throws (see {@link decodeExecutionEvent}). */
export function decodeCancelSignal(raw: string): Result<CancelSignal, AppError> {
  return decodeWith(CancelSignalSchema, CANCEL_CHANNEL, raw);
}

/** Publishes an event for an execution; resolves to the number of subscribers that got it. */
export function publishEvent(
  redis: Redis,
  executionId: string,
  event: ExecutionEvent,
): Promise<number> {
  return redis.publish(executionEventsChannel(executionId), JSON.stringify(event));
}

/** Sends a control signal to every executor; resolves to the number of subscribers. */
export function publishControl(redis: Redis, signal: CancelSignal): Promise<number> {
  return redis.publish(CANCEL_CHANNEL, JSON.stringify(signal));
}

/** Asks every executor to cancel an execution; resolves to the number of subscribers. */
export function publishCancel(redis: Redis, executionId: string): Promise<number> {
  const signal: CancelSignal = { execution_id: executionId };
  return redis.publish(CANCEL_CHANNEL, JSON.stringify(signal));
}

/**
 * Cancel signals for several executions at once, best effort: a failed publish goes to
 * `onError` and resolves (a cancelled execution's lease renewal stops its run too).
 */
export function cancelSignaller(
  redis: Redis,
  onError: (err: unknown) => void,
): (executionIds: readonly string[]) => Promise<void> {
  return async (executionIds) => {
    await Promise.all(executionIds.map((id) => publishCancel(redis, id))).catch(onError);
  };
}

/** An active subscription. */
export interface Subscription {
  /**
   * Stops delivery; unsubscribes the channel once no other subscription on it remains.
   * Calling it again does nothing.
   */
  unsubscribe(): Promise<void>;
}

/** Optional callbacks of a subscription. */
export interface SubscribeOptions {
  /** Receives messages that failed to decode (they are skipped, never thrown). */
  readonly onInvalid?: (error: AppError) => void;
  /**
   * Receives what a handler threw or rejected with. Handler errors never propagate into the
   * connection (where they would break every other subscription on it); without this
   * callback they are dropped.
   */
  readonly onHandlerError?: (error: AppError) => void;
}

/** A message handler; it may be async (its rejection goes to `onHandlerError`). */
export type MessageHandler<T> = (message: T) => void | Promise<void>;

/** Marks our listeners with their channel so unsubscribe can tell whether others remain. */
const CHANNEL_TAG = Symbol('linkflow.channel');

type MessageListener = ((channel: string, message: string) => void) & { [CHANNEL_TAG]?: string };

function deliver<T>(message: T, handler: MessageHandler<T>, options: SubscribeOptions): void {
  const report = (cause: unknown): void => options.onHandlerError?.(toAppError(cause));
  try {
    const result = handler(message);
    if (result instanceof Promise) result.catch(report);
  } catch (cause) {
    report(cause);
  }
}

async function subscribeChannel<T>(
  redis: Redis,
  channel: string,
  decode: (raw: string) => Result<T, AppError>,
  handlers: { readonly onMessage: MessageHandler<T> } & SubscribeOptions,
): Promise<Subscription> {
  const listener: MessageListener = (received, raw) => {
    if (received !== channel) return;
    const decoded = decode(raw);
    if (decoded.ok) deliver(decoded.value, handlers.onMessage, handlers);
    else handlers.onInvalid?.(decoded.error);
  };
  listener[CHANNEL_TAG] = channel;
  redis.on('message', listener);
  try {
    await redis.subscribe(channel);
  } catch (cause) {
    redis.off('message', listener);
    throw queueErrors.queueUnavailable('subscribe', channel, cause);
  }
  let active = true;
  return {
    async unsubscribe() {
      if (!active) return;
      active = false;
      redis.off('message', listener);
      const others = redis
        .listeners('message')
        .filter((l) => (l as MessageListener)[CHANNEL_TAG] === channel);
      if (others.length === 0) await redis.unsubscribe(channel);
    },
  };
}

/**
 * Calls `handler` for every cancel signal. `redis` must be a connection dedicated to pub/sub
 * (`createRedis(url, { role: 'subscriber' })`): `SUBSCRIBE` switches it to subscriber mode,
 * where it can run no other command, so never pass the connection queues or publishers use.
 * One subscriber connection can carry any number of subscriptions.
 * @throws AppError `QUEUE_UNAVAILABLE` when the subscribe command fails.
 */
export function subscribeCancel(
  redis: Redis,
  handler: MessageHandler<CancelSignal>,
  options: SubscribeOptions = {},
): Promise<Subscription> {
  return subscribeChannel(redis, CANCEL_CHANNEL, decodeCancelSignal, {
    ...options,
    onMessage: handler,
  });
}

/** A request number as a collect publishes it (see `createMetricsBoard`). */
function decodeRequestNumber(raw: string, channel: string): Result<number, AppError> {
  const n = /^[1-9][0-9]{0,15}$/.test(raw) ? Number(raw) : NaN;
  return Number.isSafeInteger(n)
    ? ok(n)
    : err(queueErrors.invalidChannelMessage(channel, 'not a request number'));
}

/**
 * Calls `handler` with the number of every metrics request on `channel` (same connection
 * rules as {@link subscribeCancel}); malformed messages go to `onInvalid`.
 * @throws AppError `QUEUE_UNAVAILABLE` when the subscribe command fails.
 */
export function subscribeRequests(
  redis: Redis,
  channel: string,
  handler: MessageHandler<number>,
  options: SubscribeOptions = {},
): Promise<Subscription> {
  const decode = (raw: string) => decodeRequestNumber(raw, channel);
  return subscribeChannel(redis, channel, decode, { ...options, onMessage: handler });
}

/**
 * Calls `handler` for every live event of one execution (same connection rules as
 * {@link subscribeCancel}). Several subscriptions to one execution on one connection are
 * independent: the channel is unsubscribed when the last of them ends.
 * @throws AppError `QUEUE_UNAVAILABLE` when the subscribe command fails.
 */
export function subscribeEvents(
  redis: Redis,
  executionId: string,
  handler: MessageHandler<ExecutionEvent>,
  options: SubscribeOptions = {},
): Promise<Subscription> {
  const channel = executionEventsChannel(executionId);
  const decode = (raw: string) => decodeExecutionEvents(raw, channel);
  // A message may carry a batch: the handler still sees one event at a time, in order.
  const onMessage = (events: ExecutionEvent[]) => {
    for (const event of events) deliver(event, handler, options);
  };
  return subscribeChannel(redis, channel, decode, { ...options, onMessage });
}
