import { WebSocket } from 'ws';
import { BenchError } from './bench-error.ts';
import { sleep } from './stats.ts';

/** A bench client on `WS /api/executions/:id/logs/stream`, timing what it receives. */
export interface TimedStream {
  readonly ws: WebSocket;
  /** `performance.now()` at which each log seq arrived. */
  readonly logAt: Map<number, number>;
  /** Resolves with `performance.now()` when `{kind: "end"}` arrives. */
  readonly ended: Promise<number>;
}

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
  let onEnd: (at: number) => void = () => undefined;
  const ended = new Promise<number>((resolve) => (onEnd = resolve));
  ws.on('message', (data: Buffer) => {
    const at = performance.now();
    const message = JSON.parse(data.toString()) as { kind: string; entry?: { seq: number } };
    if (message.kind === 'log' && message.entry) logAt.set(message.entry.seq, at);
    else if (message.kind === 'end') onEnd(at);
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, logAt, ended }));
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
