import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { JobsOptions } from 'bullmq';
import {
  err,
  ok,
  PRIORITY_NAMES,
  type AppError,
  type FieldProblem,
  type Priority,
  type Result,
} from '@linkflow/domain';
import { queueErrors } from './queue-errors.ts';

/**
 * BullMQ priority numbers (lower runs sooner). A job *without* a priority goes to the plain
 * wait list, which BullMQ serves before every prioritized job, so every job we add carries
 * one of these explicitly.
 */
export const PRIORITIES = { high: 1, normal: 5, low: 10 } as const satisfies Record<
  Priority,
  number
>;

/** Maps a BullMQ priority number back to its name (`undefined` for numbers we never set). */
export function priorityName(value: number): Priority | undefined {
  return PRIORITY_NAMES.find((name) => PRIORITIES[name] === value);
}

/**
 * An id usable as a BullMQ custom job id: BullMQ rejects ids that are integers (they clash
 * with its own counter) and ids containing `:` (its key separator).
 */
export const JobIdSchema = Type.String({ pattern: '^(?![0-9]+$)[A-Za-z0-9._-]{1,128}$' });

/** W3C trace context carrier (`traceparent`, `tracestate`, `baggage`), bounded in size. */
export const TraceCarrierSchema = Type.Record(
  Type.String({ maxLength: 64 }),
  Type.String({ maxLength: 2048 }),
  {
    maxProperties: 8,
  },
);

/** Payload of `execution.run`: ids and trace context only, never definitions or secrets. */
export const ExecutionRunPayloadSchema = Type.Object(
  {
    execution_id: JobIdSchema,
    tenant_id: Type.String({ minLength: 1, maxLength: 128 }),
    trace: Type.Optional(TraceCarrierSchema),
  },
  { additionalProperties: false },
);

/** Static type of the `execution.run` payload. */
export type ExecutionRunPayload = Static<typeof ExecutionRunPayloadSchema>;

/** One catalog entry: the payload schema and the options every job of that name starts with. */
export interface JobDefinition<S extends TSchema> {
  readonly schema: S;
  readonly defaultOptions: Readonly<JobsOptions>;
}

/** Completed `execution.run` jobs Redis keeps (the newest). */
export const KEEP_COMPLETED = 1_000;
/** Failed `execution.run` jobs Redis keeps at most (the newest)... */
export const KEEP_FAILED = 10_000;
/** ...and for at most this long (seconds). */
export const KEEP_FAILED_SECONDS = 86_400;

/**
 * Every job the system runs, keyed by job name. Options here are defaults; `jobId` and
 * `priority` are set per job by the producer.
 *
 * `execution.run`: three attempts with exponential backoff for internal errors (a failed
 * *node* does not fail the job: the execution ends `failed` and the job completes). Postgres
 * holds every outcome, so Redis keeps only a bounded tail: the last {@link KEEP_COMPLETED}
 * completed jobs (for the status counts), and failed jobs for a day (at most
 * {@link KEEP_FAILED}) so the sweeper can still dead-letter one whose failed handler never
 * ran, long after its sweep interval. Memory stays flat however many executions run.
 */
export const JOB_CATALOG = {
  'execution.run': {
    schema: ExecutionRunPayloadSchema,
    defaultOptions: {
      attempts: 3,
      backoff: { type: 'exponential', delay: 1_000 },
      removeOnComplete: { count: KEEP_COMPLETED },
      removeOnFail: { age: KEEP_FAILED_SECONDS, count: KEEP_FAILED },
    },
  },
} as const satisfies Record<string, JobDefinition<TSchema>>;

/** Names of the jobs in {@link JOB_CATALOG}. */
export type JobName = keyof typeof JOB_CATALOG;

/** Payload type of job `N`. */
export type JobPayload<N extends JobName> = Static<(typeof JOB_CATALOG)[N]['schema']>;

/** The job name of an execution run, as a constant for `Queue.add` and worker switches. */
export const EXECUTION_RUN_JOB = 'execution.run' satisfies JobName;

/** Lists what a TypeBox schema rejects as `{path, message}` problems. */
export function schemaProblems(schema: TSchema, value: unknown): FieldProblem[] {
  return [...Value.Errors(schema, value)].map((e) => ({
    path: e.path === '' ? '/' : e.path,
    message: e.message,
  }));
}

/**
 * Checks `payload` against the catalog schema of job `name`. Producers call it before adding
 * and workers before processing (a payload that fails here is poison: retrying cannot help).
 * Returns `INVALID_JOB_PAYLOAD` with every problem on mismatch; never throws.
 */
export function parseJobPayload<N extends JobName>(
  name: N,
  payload: unknown,
): Result<JobPayload<N>, AppError> {
  const schema: TSchema = JOB_CATALOG[name].schema;
  if (Value.Check(schema, payload)) return ok(payload as JobPayload<N>);
  return err(queueErrors.invalidJobPayload(name, schemaProblems(schema, payload)));
}
