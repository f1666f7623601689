import { WebSocket } from 'ws';
import { BenchError } from './bench-error.ts';
import { sleep } from './stats.ts';

/** A log entry as a stream client received it. */
export interface ReceivedEntry {
  /** Wall clock (ms since the epoch, sub-ms) at which the message arrived. */
  readonly receivedWallMs: number;
  /** The entry's `at`: when the executor made the line (ms since the epoch). */
  readonly atMs: number;
  readonly nodeId: string | null;
}

/** A bench client on `WS /api/executions/:id/logs/stream`, timing what it receives. */
export interface TimedStream {
  readonly ws: WebSocket;
  /** `performance.now()` at which each log seq arrived. */
  readonly logAt: Map<number, number>;
  /** Each log entry received, by seq. */
  readonly entries: Map<number, ReceivedEntry>;
  /** Resolves with `performance.now()` when `{kind: "end"}` arrives. */
  readonly ended: Promise<number>;
  /**
   * Resolves when the execution's terminal status (`{kind: "status"}` without `node_id`)
   * arrives: `performance.now()` then, and the status.
   */
  readonly terminal: Promise<{ readonly at: number; readonly status: string }>;
}

interface StreamMessage {
  readonly kind: string;
  readonly status?: string;
  readonly node_id?: string;
  readonly entry?: { seq: number; at: string; node_id: string | null };
}

const TERMINAL = new Set(['success', 'failed', 'cancelled']);

/** `ws://…/api/executions/<id>/logs/stream?token=<key>` of the stack's API. */
export function streamUrl(apiUrl: string, executionId: string, apiKey: string): string {
  const base = apiUrl.replace(/^http/, 'ws');
  return `${base}/api/executions/${executionId}/logs/stream?token=${encodeURIComponent(apiKey)}`;
}

/**
 * Opens a stream and resolves once the server upgraded.
 * @throws BenchError when the server refuses the upgrade
 */
export function openTimedStream(url: string): Promise<TimedStream> {
  const ws = new WebSocket(url);
  const logAt = new Map<number, number>();
  const entries = new Map<number, ReceivedEntry>();
  let onEnd: (at: number) => void = () => undefined;
  const ended = new Promise<number>((resolve) => (onEnd = resolve));
  let onTerminal: (t: { at: number; status: string }) => void = () => undefined;
  const terminal = new Promise<{ at: number; status: string }>((r) => (onTerminal = r));
  ws.on('message', (data: Buffer) => {
    const at = performance.now();
    const message = JSON.parse(data.toString()) as StreamMessage;
    const entry = message.entry;
    if (message.kind === 'log' && entry) {
      logAt.set(entry.seq, at);
      const receivedWallMs = performance.timeOrigin + at;
      entries.set(entry.seq, { receivedWallMs, atMs: Date.parse(entry.at), nodeId: entry.node_id });
    } else if (message.kind === 'end') onEnd(at);
    else if (message.kind === 'status' && !message.node_id && TERMINAL.has(message.status ?? ''))
      onTerminal({ at, status: message.status ?? '' });
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, logAt, entries, ended, terminal }));
    ws.once('unexpected-response', (_req, res) =>
      reject(new BenchError(`stream refused: HTTP ${res.statusCode ?? '?'}`)),
    );
    ws.once('error', (error) => reject(new BenchError(`stream failed: ${error.message}`)));
  });
}

/** Opens `count` streams, `batch` handshakes at a time. */
export async function openMany(url: string, count: number, batch = 50): Promise<TimedStream[]> {
  const streams: TimedStream[] = [];
  for (let i = 0; i < count; i += batch) {
    const size = Math.min(batch, count - i);
    streams.push(...(await Promise.all(Array.from({ length: size }, () => openTimedStream(url)))));
  }
  return streams;
}

/** Closes streams and waits (bounded) until each is closed. */
export async function closeAll(streams: readonly TimedStream[]): Promise<void> {
  for (const s of streams) s.ws.close();
  const deadline = Date.now() + 10_000;
  while (streams.some((s) => s.ws.readyState !== s.ws.CLOSED) && Date.now() < deadline)
    await sleep(20);
  for (const s of streams) s.ws.terminate();
}
