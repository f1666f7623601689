import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import type { ExecutionEvent, LogEntry, StatusEvent } from '@linkflow/queue';
import type { ExecutionStreamState, LogRepository } from '@linkflow/store';
import { logEntryView } from '../execution-view.ts';
import type { EventHub } from './event-hub.ts';

/** Why a stream closed (the `reason` label of `linkflow_ws_streams_closed_total`). */
export type CloseReason = 'end' | 'client' | 'slow_consumer' | 'bad_frame' | 'shutdown';

/** Close codes (RFC 6455): normal, going away, policy violation (bad frame, slow reader). */
export const CLOSE_CODES: Readonly<Record<Exclude<CloseReason, 'client'>, number>> = {
  end: 1000,
  shutdown: 1001,
  bad_frame: 1008,
  slow_consumer: 1008,
};

export interface LogStreamDeps {
  readonly logs: Pick<LogRepository, 'list'>;
  readonly hub: EventHub;
  readonly readState: (executionId: string) => Promise<ExecutionStreamState | undefined>;
  readonly maxBufferedBytes: number;
  readonly drainTimeoutMs: number;
  readonly log: FastifyBaseLogger;
  readonly onClosed: (reason: CloseReason) => void;
  /** Entries per Postgres read (replay and catch-up). */
  readonly pageSize?: number;
  /** Live events held while the stream is busy; past it they are dropped and re-read. */
  readonly maxQueued?: number;
}

type Work =
  | { readonly kind: 'start' }
  | { readonly kind: 'event'; readonly event: ExecutionEvent }
  | { readonly kind: 'check'; readonly state: ExecutionStreamState };

/** An entry as sent: live from Redis, or read from Postgres. */
type WireEntry = LogEntry | ReturnType<typeof logEntryView>;

type Message = StatusEvent | { kind: 'log'; entry: WireEntry } | { kind: 'end'; status: string };

const TERMINAL = new Set(['success', 'failed', 'cancelled']);
/** How long a closing socket may take to finish the close handshake before it is destroyed. */
const CLOSE_GRACE_MS = 3_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One client's stream of one execution. Every step runs in order on one queue: the replay
 * from Postgres first (live events wait behind it), then live events. `lastSeq` is the last
 * entry sent: an entry at or below it is a duplicate and dropped; one past `lastSeq + 1`
 * means entries were missed (pub/sub lost them, or they were dropped here) and they are read
 * from Postgres first. A terminal status (live, or seen by the periodic check) reads
 * Postgres once more, sends the status and `end`, and closes with 1000.
 */
export class LogStream {
  private lastSeq: number;
  private readonly queue: Work[] = [{ kind: 'start' }];
  private pumping = false;
  private overflowed = false;
  private closed = false;
  private release: (() => void) | undefined;
  private readonly pageSize: number;
  private readonly maxQueued: number;

  constructor(
    private readonly socket: WebSocket,
    private readonly executionId: string,
    after: number,
    private readonly deps: LogStreamDeps,
  ) {
    this.lastSeq = after;
    this.pageSize = deps.pageSize ?? 500;
    this.maxQueued = deps.maxQueued ?? 1_000;
  }

  /** Subscribes, then replays and streams; resolves once the live phase is under way. */
  async start(): Promise<void> {
    this.socket.on('message', () => this.close('bad_frame'));
    // Pongs are answered here, not by `ws` (`autoPong: false`): a client that pings and never
    // reads would otherwise grow the server's write buffer without bound on an idle stream.
    this.socket.on('ping', (data: Buffer) => this.onPing(data));
    this.socket.on('close', () => this.close('client'));
    const release = await this.deps.hub.watch(this.executionId, {
      onEvent: (event) => this.enqueue({ kind: 'event', event }),
      onCheck: (state) => this.enqueue({ kind: 'check', state }),
    });
    if (this.closed) return release();
    this.release = release;
    this.pump();
  }

  /** Closes the stream (idempotent): `client` when the peer went, else with its code. */
  close(reason: CloseReason): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.release?.();
    this.deps.onClosed(reason);
    if (reason === 'client') return;
    const socket = this.socket;
    if (socket.readyState === socket.OPEN) socket.close(CLOSE_CODES[reason], reason);
    // A client that does not read never answers the close frame: do not hold its buffer.
    const kill = setTimeout(() => socket.terminate(), CLOSE_GRACE_MS);
    socket.once('close', () => clearTimeout(kill));
  }

  private onPing(data: Buffer): void {
    if (this.closed) return;
    if (this.socket.bufferedAmount > this.deps.maxBufferedBytes) return this.close('slow_consumer');
    this.socket.pong(data);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private enqueue(work: Work): void {
    if (this.closed) return;
    if (this.queue.length >= this.maxQueued) {
      this.overflowed = true;
      return;
    }
    this.queue.push(work);
    if (this.release !== undefined) this.pump();
  }

  private pump(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    void this.drainQueue().finally(() => {
      this.pumping = false;
      // Work queued between the queue running dry and this callback found `pumping` still set.
      if (this.queue.length > 0 || this.overflowed) this.pump();
    });
  }

  private async drainQueue(): Promise<void> {
    for (;;) {
      const work = this.queue.shift() ?? this.overflowWork();
      if (work === undefined || this.closed) return;
      try {
        await this.handle(work);
      } catch (err) {
        // Postgres unreachable: nothing was skipped (lastSeq did not move); the next check
        // or live entry past a gap reads again.
        this.deps.log.warn({ err, executionId: this.executionId }, 'stream step failed');
      }
    }
  }

  /** After dropped events, one check (catch-up and status) stands in for all of them. */
  private overflowWork(): Work | undefined {
    if (!this.overflowed) return undefined;
    this.overflowed = false;
    return { kind: 'start' };
  }

  private async handle(work: Work): Promise<void> {
    switch (work.kind) {
      case 'start': {
        await this.catchUp();
        const state = await this.deps.readState(this.executionId);
        return state === undefined ? undefined : this.onCheck(state);
      }
      case 'check':
        return this.onCheck(work.state);
      case 'event':
        return work.event.kind === 'log' ? this.onLog(work.event.entry) : this.onStatus(work.event);
    }
  }

  private async onLog(entry: LogEntry): Promise<void> {
    if (entry.seq <= this.lastSeq) return;
    if (entry.seq > this.lastSeq + 1) await this.catchUp();
    if (entry.seq === this.lastSeq + 1) await this.sendLog(entry);
  }

  private async onStatus(event: StatusEvent): Promise<void> {
    if (event.node_id === undefined && TERMINAL.has(event.status)) return this.finish(event);
    await this.send(event);
  }

  private async onCheck(state: ExecutionStreamState): Promise<void> {
    if (state.logSeq > this.lastSeq) await this.catchUp();
    if (!TERMINAL.has(state.status)) return;
    const at = (state.finishedAt ?? new Date()).toISOString();
    await this.finish({ kind: 'status', status: state.status, at });
  }

  private async finish(event: StatusEvent): Promise<void> {
    await this.catchUp();
    if (!(await this.send(event))) return;
    if (!(await this.send({ kind: 'end', status: event.status }))) return;
    this.close('end');
  }

  /** Sends every stored entry after `lastSeq`, page by page. */
  private async catchUp(): Promise<void> {
    for (;;) {
      if (this.closed) return;
      const page = await this.deps.logs.list(this.executionId, {
        after: this.lastSeq,
        limit: this.pageSize,
      });
      for (const entry of page) if (!(await this.sendLog(logEntryView(entry)))) return;
      if (page.length < this.pageSize) return;
    }
  }

  private async sendLog(entry: WireEntry): Promise<boolean> {
    if (entry.seq <= this.lastSeq) return !this.closed;
    const sent = await this.send({ kind: 'log', entry });
    if (sent) this.lastSeq = entry.seq;
    return sent;
  }

  /** Sends one message; past the buffer cap, waits for the client to read (or closes it). */
  private async send(message: Message): Promise<boolean> {
    if (this.closed) return false;
    this.socket.send(JSON.stringify(message));
    return this.drained();
  }

  private async drained(): Promise<boolean> {
    const deadline = Date.now() + this.deps.drainTimeoutMs;
    while (this.socket.bufferedAmount > this.deps.maxBufferedBytes) {
      if (this.closed) return false;
      if (Date.now() >= deadline) {
        this.close('slow_consumer');
        return false;
      }
      await sleep(25);
    }
    return !this.closed;
  }
}
