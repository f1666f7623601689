import { Agent } from 'undici';
import type { NodeContext, NodeDefinition, NodeResult } from '../node-definition.ts';
import { NodeError, abortError } from '../node-errors.ts';
import { createAddressPolicy, type AddressPolicy } from './address-policy.ts';
import { createGuardedLookup, systemLookup, type HostLookup } from './guarded-lookup.ts';
import {
  checkHttpConfig,
  httpBreakerKey,
  isAcceptedStatus,
  HttpConfigSchema,
  type HttpConfig,
} from './http-config.ts';
import { deadlineError, describeTarget, statusError } from './http-errors.ts';
import { discardBody, readBody, sendHop, type Hop, type HopResponse } from './http-exchange.ts';
import { firstHop, redirectHop } from './http-request-plan.ts';

/** Server-side settings of the http node (from the executor's config). */
export interface HttpNodeOptions {
  /** LINKFLOW_HTTP_ALLOW: host names (exact, case-insensitive), IPs and CIDRs admitted although non-public. */
  readonly allow: readonly string[];
  /** Ceiling for `max_response_bytes`; also its default. */
  readonly maxResponseBytes: number;
  /** `timeout_ms` when the config has none. */
  readonly defaultTimeoutMs: number;
  /** Redirect hops followed before failing (default 5). */
  readonly maxRedirects?: number;
  /** Host name resolution (default: `dns.promises.lookup`, all addresses). Tests inject one. */
  readonly lookup?: HostLookup;
}

/** What the http node returns: the final response (after redirects). */
export interface HttpOutput {
  readonly status: number;
  /** Lower-case names; repeated headers joined with `, `. */
  readonly headers: Readonly<Record<string, string>>;
  /** Parsed JSON when the content type is JSON, else text; null when the body is empty. */
  readonly body: unknown;
}

interface RunDeps {
  readonly dispatcher: Agent;
  readonly policy: AddressPolicy;
  readonly options: HttpNodeOptions;
}

interface Traffic {
  bytesOut: number;
  bytesIn: number;
}

/**
 * The `http` node, version 1: one HTTP(S) request with SSRF protection. Every hop's address
 * is checked after DNS resolution and the socket connects to exactly the checked address
 * (the Agent's guarded lookup), so DNS rebinding cannot reach a refused address.
 * Failures: SECURITY (refused address or scheme), CONNECTIVITY (network, DNS), TIMEOUT,
 * CANCELLATION, EXECUTION (status outside `accept_status`, with `status`; too many redirects;
 * body over `max_response_bytes`), TRANSFORMATION (invalid JSON body).
 * @throws AppError `INVALID_HTTP_ALLOW` when an allowlist entry cannot be parsed.
 */
export function createHttpNode(options: HttpNodeOptions): NodeDefinition<HttpConfig, HttpOutput> {
  const policy = createAddressPolicy(options.allow);
  const dispatcher = new Agent({
    connect: { lookup: createGuardedLookup(options.lookup ?? systemLookup, policy) },
  });
  const deps: RunDeps = { dispatcher, policy, options };
  return {
    type: 'http',
    version: 1,
    configSchema: HttpConfigSchema,
    rawFields: [],
    secretFields: ['url', 'headers', 'query', 'body'],
    checkConfig: checkHttpConfig,
    breakerKey: httpBreakerKey,
    execute: (ctx, config) => executeHttp(ctx, config, deps),
    close: () => dispatcher.close(),
  };
}

async function executeHttp(
  ctx: NodeContext,
  config: HttpConfig,
  deps: RunDeps,
): Promise<NodeResult<HttpOutput>> {
  if (ctx.signal.aborted) throw abortError(ctx.signal);
  const hop = firstHop(config);
  const timeoutMs = config.timeout_ms ?? deps.options.defaultTimeoutMs;
  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(deadlineError(timeoutMs, describeTarget(hop.method, hop.url))),
    timeoutMs,
  );
  const signal = AbortSignal.any([ctx.signal, deadline.signal]);
  const traffic: Traffic = { bytesOut: 0, bytesIn: 0 };
  try {
    const run: HopRun = { ...deps, signal, traffic };
    const output = await finish(await followRedirects(hop, config, run), config, run);
    return { output, usage: { net_bytes_out: traffic.bytesOut, net_bytes_in: traffic.bytesIn } };
  } finally {
    clearTimeout(timer);
  }
}

/** The response that ends the redirect chain and the hop that produced it. */
interface FinalResponse {
  readonly res: HopResponse;
  readonly last: Hop;
}

interface HopRun extends RunDeps {
  readonly signal: AbortSignal;
  readonly traffic: Traffic;
}

/** Sends `hop`, then each redirect target (re-checked like the first) up to the limit. */
async function followRedirects(
  start: Hop,
  config: HttpConfig,
  run: HopRun,
): Promise<FinalResponse> {
  const maxRedirects = run.options.maxRedirects ?? 5;
  let hop = start;
  for (let redirects = 0; ; redirects += 1) {
    const res = await sendHop(hop, run);
    run.traffic.bytesOut += res.bytesOut;
    run.traffic.bytesIn += res.headerBytesIn;
    const next =
      config.follow_redirects === false
        ? undefined
        : redirectHop(hop, res.status, res.headers['location']);
    if (next === undefined) return { res, last: hop };
    await discardBody(res);
    if (redirects >= maxRedirects) {
      const origin = describeTarget(start.method, start.url);
      const message = `too many redirects (more than ${maxRedirects}) from ${origin}`;
      throw new NodeError('EXECUTION', message, { retryable: false });
    }
    hop = next;
  }
}

/** Checks the status, then reads and decodes the body within the size limit. */
async function finish(
  { res, last }: FinalResponse,
  config: HttpConfig,
  run: HopRun,
): Promise<HttpOutput> {
  const target = describeTarget(last.method, last.url);
  if (!isAcceptedStatus(res.status, config.accept_status)) {
    await discardBody(res);
    throw statusError(res.status, target);
  }
  const limit = Math.min(
    config.max_response_bytes ?? run.options.maxResponseBytes,
    run.options.maxResponseBytes,
  );
  const bytes = await readBody(res, limit, { signal: run.signal, target });
  run.traffic.bytesIn += bytes.length;
  return {
    status: res.status,
    headers: res.headers,
    body: decodeBody(bytes, res.headers['content-type'], target),
  };
}

const JSON_TYPE = /^\s*(application\/(?:[\w.+-]*\+)?json|text\/json)\s*(;|$)/i;

/**
 * JSON content types (`application/json`, `application/*+json`) are parsed; anything else
 * is decoded as text in the declared charset (UTF-8 by default). An empty body is null.
 * @throws NodeError TRANSFORMATION when a JSON body does not parse.
 */
function decodeBody(bytes: Buffer, contentType: string | undefined, target: string): unknown {
  if (bytes.length === 0) return null;
  const text = decodeText(bytes, contentType);
  if (contentType === undefined || !JSON_TYPE.test(contentType)) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new NodeError('TRANSFORMATION', `response from ${target} is not valid JSON: ${detail}`, {
      retryable: false,
      cause,
    });
  }
}

function decodeText(bytes: Buffer, contentType: string | undefined): string {
  const charset = /charset\s*=\s*"?([\w.:-]+)"?/i.exec(contentType ?? '')?.[1] ?? 'utf-8';
  try {
    return new TextDecoder(charset).decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}
