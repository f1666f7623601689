/**
 * Micro-batching ("group commit"): a request goes out at once when no batch is in flight;
 * requests that arrive meanwhile are sent together as one batch (one multi-row statement,
 * one pipeline). A lone caller pays exactly one round trip; many concurrent callers share
 * them, which is what bounds throughput on Postgres (WAL flushes) and Redis.
 */
export interface BatchSpec<Req, Res> {
  /** Runs one batch; returns one result per request, in order. */
  run(batch: readonly Req[]): Promise<Res[]>;
  /** Requests with the same key never share a batch (e.g. the same row updated twice). */
  key?(request: Req): string;
  readonly maxBatch?: number;
  /** Batches allowed in flight at once (default 1: measured best here, since fewer, larger batches mean fewer commits). */
  readonly maxInFlight?: number;
  /**
   * Whether `err` may come from one request of the batch, so that retrying them one by one
   * isolates it (default: always). A failure no request caused (the database gone) should
   * say false: the batch then fails at once instead of paying one more failing round trip
   * (or connect timeout) per request, in series, while its in-flight slot stays taken.
   */
  isolates?(err: unknown): boolean;
  /**
   * How long a batch waits for company once a slot is free: `microtask` (default) sends what
   * this tick's synchronous code submitted; `turn` waits for the rest of the event-loop turn
   * (`setImmediate`), so callers that reach `submit` a few awaits apart (the lanes of a
   * parallel loop, woken together by one commit) share the statement. A lone caller pays
   * one turn of latency and no CPU. Requests that queued while a batch was in flight have
   * waited for company all along: they go as soon as it ends, so the next statement runs
   * while the callers it woke compute (a loop's lanes run ahead of their commits).
   */
  readonly gather?: 'microtask' | 'turn';
}

interface Pending<Req, Res> {
  readonly request: Req;
  resolve(result: Res): void;
  reject(err: unknown): void;
}

export class MicroBatcher<Req, Res> {
  private queue: Pending<Req, Res>[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(private readonly spec: BatchSpec<Req, Res>) {}

  submit(request: Req): Promise<Res> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.schedule();
    });
  }

  private take(): Pending<Req, Res>[] {
    const max = this.spec.maxBatch ?? 200;
    const keys = new Set<string>();
    const batch: Pending<Req, Res>[] = [];
    const rest: Pending<Req, Res>[] = [];
    for (const p of this.queue) {
      const key = this.spec.key?.(p.request);
      if (batch.length < max && (key === undefined || !keys.has(key))) {
        if (key !== undefined) keys.add(key);
        batch.push(p);
      } else rest.push(p);
    }
    this.queue = rest;
    return batch;
  }

  /** After a failed batch: one statement each, so one bad request fails only itself. */
  private async oneByOne(batch: readonly Pending<Req, Res>[]): Promise<void> {
    for (const [i, p] of batch.entries()) {
      try {
        const [result] = await this.spec.run([p.request]);
        p.resolve(result as Res);
      } catch (err) {
        p.reject(err);
        // No request's fault (e.g. the database went away meanwhile): the rest fail with it.
        if (this.spec.isolates?.(err) === false) {
          for (const rest of batch.slice(i + 1)) rest.reject(err);
          return;
        }
      }
    }
  }

  /** Starts a batch on the next microtask (so requests of this tick join it) if a slot is free. */
  private schedule(waited = false): void {
    if (this.scheduled || this.inFlight >= (this.spec.maxInFlight ?? 1) || this.queue.length === 0)
      return;
    this.scheduled = true;
    const go = () => {
      this.scheduled = false;
      void this.flushOne();
    };
    if (this.spec.gather === 'turn' && !waited) setImmediate(go);
    else queueMicrotask(go);
  }

  private async flushOne(): Promise<void> {
    const batch = this.take();
    if (batch.length === 0) return;
    this.inFlight++;
    this.schedule();
    try {
      const results = await this.spec.run(batch.map((p) => p.request));
      batch.forEach((p, i) => p.resolve(results[i] as Res));
    } catch (err) {
      if (batch.length === 1 || this.spec.isolates?.(err) === false)
        batch.forEach((p) => p.reject(err));
      else await this.oneByOne(batch);
    } finally {
      this.inFlight--;
      // What queued meanwhile has waited for company all along: it goes at once.
      this.schedule(true);
    }
  }
}
