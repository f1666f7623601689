/** A structured log call: fields first (an error under `err`), then a constant message. */
export type QueueLogFn = (fields: object, message: string) => void;

/**
 * The logger the queue's long-running parts (workers, heartbeats, publishers, listeners)
 * write to; pino's `Logger` fits. Declared here so this lib needs no logging library.
 */
export interface QueueLogger {
  readonly debug: QueueLogFn;
  readonly info: QueueLogFn;
  readonly warn: QueueLogFn;
  readonly error: QueueLogFn;
}
