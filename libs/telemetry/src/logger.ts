import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import { REDACTED, redactSecrets } from '@linkflow/domain';
import {
  pino,
  type DestinationStream,
  type LevelWithSilent,
  type Logger,
  type LoggerOptions,
} from 'pino';
import { telemetryErrors } from './telemetry-errors.ts';

export type { Logger } from 'pino';

/**
 * Paths pino redacts by default (pino `redact` syntax; `*` is one level of nesting). The idea
 * follows trigger.dev's `DEFAULT_FILTERED_KEYS`: credentials, tokens and auth headers never
 * reach a log line. Every logged value also goes through the domain's `redactSecrets` (any
 * depth, secret-looking names, URL passwords, bearer tokens, known secret values): these paths
 * are the fast first line.
 */
export const DEFAULT_REDACT_PATHS: readonly string[] = [
  'authorization',
  'cookie',
  'password',
  'secret',
  'token',
  'apiKey',
  'api_key',
  'headers.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'config.headers.authorization',
  '*.authorization',
  '*.password',
  '*.secret',
  '*.token',
  '*.apiKey',
  '*.api_key',
];

/** What replaces a redacted value. */
export { REDACTED };

/** Options for {@link createLogger}. */
export interface CreateLoggerOptions {
  /** Minimum level: `trace`, `debug`, `info`, `warn`, `error`, `fatal`. */
  readonly level: LevelWithSilent;
  /** Service name, written as `service` on every line (`api`, `executor`). */
  readonly name: string;
  /** Human-readable output through `pino-pretty` (development only; must be installed). */
  readonly pretty?: boolean;
  /** Where lines go; defaults to stdout. Tests pass a stream they read. */
  readonly destination?: DestinationStream;
  /** Paths redacted on top of {@link DEFAULT_REDACT_PATHS} (e.g. node secret params). */
  readonly redactPaths?: readonly string[];
  /**
   * Secret strings this process knows (connection passwords from its configuration): replaced
   * wherever they appear in a line, message or field.
   */
  readonly secretValues?: readonly string[];
  /**
   * Secret strings known at run time: credential values held by running nodes. A line bound
   * to a tenant (a `tenantId` field or child binding: the executor binds it on every
   * execution and node logger) is redacted with that tenant's values, any other line with
   * all of them.
   */
  readonly liveSecrets?: { values(owner?: string): readonly string[] };
}

/** Adds the active span's ids so a log line can be found from its trace and back. */
function traceFields(): Record<string, string> {
  const spanContext = trace.getSpanContext(context.active());
  if (spanContext === undefined || !isSpanContextValid(spanContext)) return {};
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}

function prettyTransport(options: CreateLoggerOptions): LoggerOptions['transport'] {
  if (options.pretty !== true) return undefined;
  if (options.destination !== undefined)
    throw telemetryErrors.invalidLoggerOptions(
      'pretty output cannot write to a custom destination',
    );
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
  } catch (cause) {
    throw telemetryErrors.invalidLoggerOptions(
      'pretty output needs the pino-pretty package',
      cause,
    );
  }
  return { target: 'pino-pretty' };
}

/**
 * The tenant a line belongs to: its `tenantId` field or its logger's binding (undefined when
 * it names none, or two different ones: such a line is redacted with every held value).
 */
function lineTenant(args: unknown[], logger: { bindings?(): Record<string, unknown> }) {
  const fields = args[0];
  const field =
    typeof fields === 'object' && fields !== null
      ? (fields as Record<string, unknown>)['tenantId']
      : undefined;
  let bound: unknown;
  try {
    bound = logger.bindings?.()['tenantId'];
  } catch {
    return undefined;
  }
  if (field !== undefined && bound !== undefined && field !== bound) return undefined;
  const tenant = field ?? bound;
  return typeof tenant === 'string' && tenant !== '' ? tenant : undefined;
}

/**
 * Builds the root logger of a process (call it once in `main.ts` and pass children down).
 * Lines are JSON with an ISO-8601 `time`, the level as a label, `service`, `pid`, `hostname`,
 * and `trace_id`/`span_id` when a span is active. Errors go under `err`.
 * @throws AppError `INVALID_LOGGER_OPTIONS` when `pretty` is asked for but cannot be served.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const transport = prettyTransport(options);
  const values = options.secretValues ?? [];
  const loggerOptions: LoggerOptions = {
    level: options.level,
    base: { service: options.name, pid: process.pid, hostname: hostname() },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Child bindings are not redacted (pino serialises them once, outside these hooks):
    // bind ids, never configs.
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: [...DEFAULT_REDACT_PATHS, ...(options.redactPaths ?? [])], censor: REDACTED },
    hooks: {
      // Fields, message and interpolation arguments alike.
      logMethod(args, method) {
        const held = options.liveSecrets;
        const live =
          held === undefined || held.values().length === 0
            ? []
            : held.values(lineTenant(args, this));
        const all = live.length === 0 ? values : [...values, ...live];
        method.apply(this, redactSecrets(args, { values: all }));
      },
    },
    mixin: traceFields,
  };
  if (transport !== undefined) return pino({ ...loggerOptions, transport });
  return options.destination === undefined
    ? pino(loggerOptions)
    : pino(loggerOptions, options.destination);
}
