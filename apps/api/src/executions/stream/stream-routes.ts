import type { FastifyInstance, FastifyRequest } from 'fastify';
import websocket from '@fastify/websocket';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ExecutionRepository, LogRepository } from '@linkflow/store';
import type { ApiMetrics } from '@linkflow/telemetry';
import { principalOf } from '../../auth/auth.ts';
import type { WsConfig } from '../../config.ts';
import { apiErrors } from '../../http/api-errors.ts';
import { IdParams } from '../../http/schemas.ts';
import { StreamQuery } from '../execution-schemas.ts';
import type { EventHub } from './event-hub.ts';
import { LogStream, type CloseReason } from './log-stream.ts';

/** The streams open on one app (closed with 1001 by `app.close()`). */
export type OpenStreams = Set<LogStream>;

export interface StreamRouteDeps {
  readonly streams: OpenStreams;
  readonly executions: Pick<ExecutionRepository, 'streamState'>;
  readonly logs: Pick<LogRepository, 'list'>;
  readonly hub: EventHub;
  readonly ws: WsConfig;
  readonly metrics: Pick<ApiMetrics, 'wsStreams' | 'wsStreamsClosed'>;
}

/**
 * Open streams per tenant on this process. `reserve` is checked before the upgrade and taken
 * by the handler, so concurrent handshakes cannot push a tenant past the limit either.
 */
class TenantStreamCounts {
  private readonly open = new Map<string, number>();

  constructor(private readonly limit: number) {}

  hasRoom(tenantId: string): boolean {
    return (this.open.get(tenantId) ?? 0) < this.limit;
  }

  /** Takes a slot; false when the tenant is at the limit. */
  take(tenantId: string): boolean {
    const n = this.open.get(tenantId) ?? 0;
    if (n >= this.limit) return false;
    this.open.set(tenantId, n + 1);
    return true;
  }

  give(tenantId: string): void {
    const n = (this.open.get(tenantId) ?? 1) - 1;
    if (n <= 0) this.open.delete(tenantId);
    else this.open.set(tenantId, n);
  }
}

/** Close code of a stream refused after the handshake because its tenant is at the limit. */
const CLOSE_TOO_MANY = 1008;

/** Frames a client may send are pointless here (the stream is one-way): keep them tiny. */
const MAX_CLIENT_FRAME_BYTES = 1024;
/** How long `app.close()` lets sockets finish their close handshake before destroying them. */
const SHUTDOWN_GRACE_MS = 2_000;

/**
 * Whether `origin` is the API's own (its host and port are the request's `Host`): a page the
 * API serves, or a client library that sends the URL it connects to as its Origin (Python's
 * websocket-client does). A cross-site page always has an Origin of its own site.
 */
function isSameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  try {
    const url = new URL(origin);
    // A web page's origin (not an extension's or a file's), on the host the API was reached at.
    return (
      (url.protocol === 'http:' || url.protocol === 'https:') && url.host === host.toLowerCase()
    );
  } catch {
    return false; // `null` (sandboxed frames, file pages) and other unparsable origins
  }
}

function checkOrigin(allowed: readonly string[]) {
  const any = allowed.includes('*');
  return (request: FastifyRequest, _reply: unknown, done: (err?: Error) => void) => {
    const origin = request.headers.origin;
    // No Origin: not a browser (a browser always sends it on a WebSocket upgrade).
    const refused =
      origin !== undefined &&
      !any &&
      !allowed.includes(origin.toLowerCase()) &&
      !isSameOrigin(origin, request.headers.host);
    done(refused ? apiErrors.originNotAllowed(origin) : undefined);
  };
}

/** Closes every stream with 1001 and waits (bounded) for the sockets to go. */
async function shutdown(app: FastifyInstance, streams: Set<LogStream>): Promise<void> {
  for (const stream of streams) stream.close('shutdown');
  const clients = app.websocketServer.clients;
  const deadline = Date.now() + SHUTDOWN_GRACE_MS;
  while (clients.size > 0 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 20));
  for (const client of clients) client.terminate();
  // Not awaited: its callback waits for every client's 'close', which an in-memory
  // (injectWS) socket may never emit once terminated.
  app.websocketServer.close();
}

/**
 * Registers @fastify/websocket. Call it before any other `onRequest` hook: the plugin's own
 * hook marks upgrade requests, and only marked ones get their socket destroyed after a
 * refusal (a 401 from an earlier hook would otherwise leave the connection open).
 */
export async function installWebSocket(app: FastifyInstance): Promise<OpenStreams> {
  const streams: OpenStreams = new Set();
  await app.register(websocket, {
    // Streams answer pings themselves, within their buffer cap (LogStream).
    options: { maxPayload: MAX_CLIENT_FRAME_BYTES, autoPong: false },
    preClose: async () => shutdown(app, streams),
  });
  return streams;
}

/**
 * `WS /api/executions/:id/logs/stream?after=N`: authenticated (header or `token`), origin,
 * parameters and ownership checked before the upgrade, so every refusal is a problem+json
 * response, never a 101. Then {@link LogStream} replays and streams.
 */
export function registerStreamRoutes(app: FastifyInstance, deps: StreamRouteDeps): void {
  const { streams } = deps;
  app.addHook('onClose', () => deps.hub.close());
  const readState = (id: string) => deps.executions.streamState(id);
  const perTenant = new TenantStreamCounts(deps.ws.maxStreamsPerTenant);
  app.withTypeProvider<TypeBoxTypeProvider>().route({
    method: 'GET',
    url: '/api/executions/:id/logs/stream',
    config: { scope: 'executions:read', tokenInQuery: true },
    schema: { params: IdParams, querystring: StreamQuery, hide: true },
    onRequest: checkOrigin(deps.ws.allowedOrigins),
    preHandler: async (request) => {
      const state = await deps.executions.streamState(
        request.params.id,
        principalOf(request).tenantId,
      );
      if (state === undefined) throw apiErrors.notFound('execution', request.params.id);
      if (!perTenant.hasRoom(principalOf(request).tenantId))
        throw apiErrors.tooManyStreams(deps.ws.maxStreamsPerTenant);
    },
    handler: () => {
      throw apiErrors.upgradeRequired();
    },
    wsHandler: async (socket, request) => {
      const tenantId = principalOf(request).tenantId;
      // Handshakes that passed the check together: the last ones over the limit close.
      if (!perTenant.take(tenantId)) {
        socket.close(CLOSE_TOO_MANY, 'too many open streams');
        return;
      }
      deps.metrics.wsStreams.inc();
      const stream = new LogStream(socket, request.params.id, request.query.after ?? 0, {
        logs: deps.logs,
        hub: deps.hub,
        readState,
        maxBufferedBytes: deps.ws.maxBufferedBytes,
        drainTimeoutMs: deps.ws.drainTimeoutMs,
        log: request.log,
        onClosed: (reason: CloseReason) => {
          perTenant.give(tenantId);
          streams.delete(stream);
          deps.metrics.wsStreams.dec();
          deps.metrics.wsStreamsClosed.inc({ reason });
        },
      });
      streams.add(stream);
      await stream.start();
    },
  });
}
