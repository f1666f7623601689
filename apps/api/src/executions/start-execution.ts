import { createHash } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import {
  accessProblems,
  compileWorkflow,
  normalizeTags,
  type Clock,
  type FieldProblem,
  type IdGen,
  type NodeTypeCatalog,
  type Priority,
} from '@linkflow/domain';
import type {
  ExecutionRecord,
  ExecutionRepository,
  TenantDirectory,
  WorkflowRepository,
} from '@linkflow/store';
import { apiErrors } from '../http/api-errors.ts';

export interface StartRequest {
  readonly tenantId: string;
  readonly workflowId: string;
  readonly inputData: unknown;
  readonly priority: Priority;
  readonly idempotencyKey: string | undefined;
  readonly trace: Record<string, string> | undefined;
}

/** What a job is enqueued with. */
export interface EnqueueJob {
  executionId: string;
  tenantId: string;
  priority: Priority;
  trace?: Record<string, string>;
  /** The workflow's `settings.worker_tags`: which executors may take it. */
  workerTags?: readonly string[];
}

/** The producer side of the queue as this service needs it. */
export interface Enqueuer {
  enqueue(request: EnqueueJob): Promise<unknown>;
  /** Enqueues again, replacing a finished job of the same execution (recover). */
  requeue(request: EnqueueJob): Promise<unknown>;
  /** False while Redis is known to be down: a start then fails fast with 503. */
  isConnected?(): boolean;
  /**
   * Records the execution's worker tag set before its row is written: a tag set over the
   * limit is refused (409) instead of leaving an execution pending that can never be queued.
   */
  admitTags?(tags: readonly string[]): Promise<void>;
}

/** What a workflow version needs to start: its problems on this server and its routing. */
interface Runnability {
  readonly problems: readonly FieldProblem[];
  readonly workerTags: readonly string[];
}

/**
 * Whether a workflow version can run on this server (its node types are enabled and its
 * tenant may use its db connections), cached per `workflowId@version`: versions are immutable,
 * a workflow has one tenant, and the enabled types and connections are fixed for the life of
 * the process, so each version is compiled once, not per request.
 * It also remembers each workflow's latest version as last seen, so a start needs no read
 * before its insert: the insert pins the version only while it is still the latest (in the
 * same statement), and a start that finds it changed or gone asks Postgres again.
 */
export class RunnableCache {
  private readonly verdicts = new Map<string, Runnability>();
  private readonly latest = new Map<string, number>();
  constructor(private readonly max = 10_000) {}

  async problems(key: string, load: () => Promise<Runnability>): Promise<Runnability> {
    const hit = this.verdicts.get(key);
    if (hit) return hit;
    const problems = await load();
    if (this.verdicts.size >= this.max) this.verdicts.clear();
    this.verdicts.set(key, problems);
    return problems;
  }

  /** The latest version of the tenant's workflow as last seen here (maybe stale). */
  knownLatest(tenantId: string, workflowId: string): number | undefined {
    return this.latest.get(`${tenantId}/${workflowId}`);
  }

  /** Records (a version) or forgets (undefined) the latest version last seen. */
  rememberLatest(tenantId: string, workflowId: string, version: number | undefined): void {
    const key = `${tenantId}/${workflowId}`;
    if (version === undefined) {
      this.latest.delete(key);
      return;
    }
    if (this.latest.size >= this.max) this.latest.clear();
    this.latest.set(key, version);
  }
}

export interface StartDeps {
  readonly runnable: RunnableCache;
  readonly workflows: WorkflowRepository;
  readonly executions: ExecutionRepository;
  readonly catalog: NodeTypeCatalog;
  /** Names tenants for access rules (a db connection reserved for some tenants). */
  readonly tenants: TenantDirectory;
  readonly queue: Enqueuer;
  readonly ids: IdGen;
  readonly clock: Clock;
}

/** Stable hash of what makes two requests "the same" for an idempotency key. */
/** JSON with object keys sorted, so `{a, b}` and `{b, a}` hash the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

function requestHash(req: StartRequest): string {
  return createHash('sha256')
    .update(canonicalJson([req.workflowId, req.inputData ?? null, req.priority]))
    .digest('hex');
}

/** The version a start pins and what running it needs (its problems here, its tags). */
interface Pinned extends Runnability {
  readonly version: number;
}

/**
 * The workflow's latest version (remembered, or read when `fresh` or unknown) and whether it
 * can run here. @throws AppError NOT_FOUND when the workflow does not exist (for this tenant).
 */
async function pinVersion(deps: StartDeps, req: StartRequest, fresh: boolean): Promise<Pinned> {
  const known = fresh ? undefined : deps.runnable.knownLatest(req.tenantId, req.workflowId);
  const version = known ?? (await deps.workflows.latestVersion(req.tenantId, req.workflowId));
  deps.runnable.rememberLatest(req.tenantId, req.workflowId, version);
  if (version === undefined) throw apiErrors.notFound('workflow', req.workflowId);
  const verdict = await deps.runnable.problems(`${req.workflowId}@${version}`, async () => {
    const workflow = await deps.workflows.get(req.tenantId, req.workflowId, version);
    if (!workflow) return { problems: [], workerTags: [] };
    const tags = normalizeTags(workflow.definition.settings?.worker_tags);
    const compiled = compileWorkflow(workflow.definition, deps.catalog);
    if (!compiled.ok) return { problems: compiled.error, workerTags: tags };
    // The operator may have reserved a connection for other tenants since the version was stored.
    const tenant = await deps.tenants.ref(req.tenantId);
    return {
      problems: accessProblems(workflow.definition, deps.catalog, tenant),
      workerTags: tags,
    };
  });
  return { version, ...verdict };
}

/** Inserts the execution pinned to `pinned.version` while that is still the latest. */
function insert(deps: StartDeps, req: StartRequest, pinned: Pinned) {
  return deps.executions.create({
    id: deps.ids.next(),
    tenantId: req.tenantId,
    workflowId: req.workflowId,
    workflowVersion: pinned.version,
    priority: req.priority,
    inputData: req.inputData,
    idempotencyKey: req.idempotencyKey,
    requestHash: req.idempotencyKey === undefined ? undefined : requestHash(req),
    traceContext: req.trace,
    at: deps.clock.now(),
  });
}

/** Versions a start pins at most: each refused one means a new version landed meanwhile. */
const MAX_PINS = 3;

/**
 * Starts an execution: checks the workflow is runnable on this server, commits the
 * execution row (pinning the workflow version), then enqueues its job. When enqueueing
 * fails the execution stays `pending`; the executor's reconciler enqueues it later.
 * The version comes from memory when this process saw it before; the insert refuses it when
 * it is no longer the latest (or the workflow was deleted), and the start then reads it again
 * (up to {@link MAX_PINS} pins, then 409 `WORKFLOW_CHANGING`): so a start never pins an
 * outdated version, and costs one statement when warm. A remembered version that is not
 * runnable here is read again too before answering 422 (a newer version may be).
 */
export async function startExecution(
  deps: StartDeps,
  req: StartRequest,
  log: FastifyBaseLogger,
): Promise<{ created: boolean; execution: ExecutionRecord }> {
  if (req.idempotencyKey !== undefined) {
    // A repeat answers from the first request even if the workflow changed since.
    const seen = await deps.executions.byIdempotencyKey(req.tenantId, req.idempotencyKey);
    if (seen && seen.requestHash !== requestHash(req)) throw apiErrors.idempotencyConflict();
    if (seen) return { created: false, execution: seen.execution };
  }
  let fresh = deps.runnable.knownLatest(req.tenantId, req.workflowId) === undefined;
  for (let pins = 1; ; pins++) {
    const pinned = await pinVersion(deps, req, fresh);
    if (pinned.problems.length > 0) {
      // A remembered version may be outdated: its problems are not the workflow's until read again.
      if (!fresh) {
        fresh = true;
        continue;
      }
      throw apiErrors.workflowNotRunnable(pinned.problems);
    }
    // Redis known down: refuse before writing anything (a pending row would wait for the sweeper).
    if (deps.queue.isConnected?.() === false) throw apiErrors.queueUnavailable();
    await deps.queue.admitTags?.(pinned.workerTags);
    const result = await insert(deps, req, pinned);
    switch (result.outcome) {
      case 'workflow_not_found':
        // Outdated or gone: the next read answers 404 when gone. A version read just now is
        // outdated too when a new one landed before the insert, so this retries, but not forever.
        if (pins >= MAX_PINS) throw apiErrors.workflowChanging(req.workflowId);
        fresh = true;
        continue;
      case 'conflict':
        throw apiErrors.idempotencyConflict();
      case 'existing':
        return { created: false, execution: result.execution };
      case 'created':
        await enqueueOrLeavePending(
          deps.queue,
          { ...result.execution, workerTags: pinned.workerTags },
          log,
        );
        return { created: true, execution: result.execution };
    }
  }
}

async function enqueueOrLeavePending(
  queue: Enqueuer,
  execution: ExecutionRecord & { workerTags: readonly string[] },
  log: FastifyBaseLogger,
): Promise<void> {
  try {
    const trace = execution.traceContext ?? undefined;
    await queue.enqueue({
      executionId: execution.id,
      tenantId: execution.tenantId,
      priority: execution.priority,
      workerTags: execution.workerTags,
      ...(trace ? { trace } : {}),
    });
  } catch (err) {
    log.warn(
      { err, executionId: execution.id },
      'enqueue failed; execution stays pending for the reconciler',
    );
  }
}
