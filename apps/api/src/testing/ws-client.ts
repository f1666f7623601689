import type { FastifyInstance } from 'fastify';
import { WebSocket } from 'ws';

/** A message of the stream as received (parsed JSON). */
export type StreamMessage =
  | { kind: 'log'; entry: { seq: number; message: string; [k: string]: unknown } }
  | { kind: 'status'; status: string; node_id?: string; at: string }
  | { kind: 'end'; status: string };

/** A real `ws` client on a stream, recording what it receives. */
export interface StreamClient {
  readonly ws: WebSocket;
  readonly messages: StreamMessage[];
  /** Resolves with the close code and reason once the connection is closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Seqs of the log messages, in arrival order. */
  seqs(): number[];
}

/** A refused upgrade: the HTTP status and problem body the server answered instead of 101. */
export interface Refusal {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: { status?: number; code?: string; [k: string]: unknown };
}

/** `ws://host:port` of an app that listens (call `app.listen({ port: 0 })` first). */
export function wsBase(app: FastifyInstance): string {
  const address = app.server.address();
  if (address === null || typeof address === 'string')
    throw new TypeError('the app does not listen on a TCP port');
  return `ws://127.0.0.1:${address.port}`;
}

function track(ws: WebSocket): StreamClient {
  const messages: StreamMessage[] = [];
  ws.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString()) as StreamMessage));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  return {
    ws,
    messages,
    closed,
    seqs: () => messages.flatMap((m) => (m.kind === 'log' ? [m.entry.seq] : [])),
  };
}

/** Opens a stream; rejects with a {@link Refusal} when the server does not upgrade. */
export function openStream(
  url: string,
  headers: Record<string, string> = {},
): Promise<StreamClient> {
  const ws = new WebSocket(url, { headers });
  const client = track(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        const refusal: Refusal = {
          status: res.statusCode ?? 0,
          contentType: res.headers['content-type'],
          body: body === '' ? {} : (JSON.parse(body) as Refusal['body']),
        };
        // The refusal is the value under test, not an Error.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        reject(refusal);
      });
    });
    ws.once('error', reject);
  });
}

/** The refusal of an upgrade that must fail; throws when the server upgraded instead. */
export async function refusalOf(
  url: string,
  headers: Record<string, string> = {},
): Promise<Refusal> {
  try {
    const client = await openStream(url, headers);
    client.ws.terminate();
  } catch (refusal) {
    if (typeof refusal === 'object' && refusal !== null && 'status' in refusal)
      return refusal as Refusal;
    throw refusal;
  }
  throw new TypeError(`the server upgraded ${url}`);
}
