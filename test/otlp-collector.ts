import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One span as an OTLP/HTTP JSON export carries it, flattened for assertions. */
export interface CollectedSpan {
  readonly service: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  /** OTLP kinds: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  readonly kind: number;
  readonly attributes: Readonly<Record<string, unknown>>;
  /** OTLP status codes: 0 unset, 1 ok, 2 error. */
  readonly status: { readonly code: number; readonly message?: string };
}

/** A tiny OTLP/HTTP collector: accepts `POST /v1/traces` (JSON) and keeps what it got. */
export interface OtlpCollector {
  /** Base endpoint, as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it. */
  readonly url: string;
  readonly spans: CollectedSpan[];
  /** Every request body as received (to search for what must never be exported). */
  readonly bodies: string[];
  close(): Promise<void>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpValue[] };
}
interface OtlpKeyValue {
  key: string;
  value: OtlpValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: OtlpKeyValue[];
  status?: { code?: number; message?: string };
}
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: { spans?: OtlpSpan[] }[];
  }[];
}

function valueOf(v: OtlpValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(valueOf);
  return undefined;
}

function attributesOf(list: OtlpKeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, valueOf(kv.value)]));
}

function flatten(body: OtlpExport): CollectedSpan[] {
  return (body.resourceSpans ?? []).flatMap((rs) => {
    const name = attributesOf(rs.resource?.attributes)['service.name'];
    const service = typeof name === 'string' ? name : '';
    return (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((s) => ({
        service,
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId === '' ? undefined : s.parentSpanId,
        name: s.name,
        kind: s.kind,
        attributes: attributesOf(s.attributes),
        status: {
          code: s.status?.code ?? 0,
          ...(s.status?.message ? { message: s.status.message } : {}),
        },
      })),
    );
  });
}

/** Starts a collector on a free loopback port. */
export async function startOtlpCollector(): Promise<OtlpCollector> {
  const spans: CollectedSpan[] = [];
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      bodies.push(body);
      spans.push(...flatten(JSON.parse(body) as OtlpExport));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    bodies,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** True when `ancestor` is `span`'s parent, grand-parent, … among `spans`. */
export function isAncestor(
  spans: readonly CollectedSpan[],
  ancestor: CollectedSpan,
  span: CollectedSpan,
): boolean {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  let current: CollectedSpan | undefined = span;
  for (let hops = 0; current !== undefined && hops < 100; hops += 1) {
    if (current.parentSpanId === ancestor.spanId) return true;
    current = current.parentSpanId === undefined ? undefined : byId.get(current.parentSpanId);
  }
  return false;
}
