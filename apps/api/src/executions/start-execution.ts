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
 */
export class RunnableCache {
  private readonly verdicts = new Map<string, Runnability>();
  constructor(private readonly max = 10_000) {}

  async problems(key: string, load: () => Promise<Runnability>): Promise<Runnability> {
    const hit = this.verdicts.get(key);
    if (hit) return hit;
    const problems = await load();
    if (this.verdicts.size >= this.max) this.verdicts.clear();
    this.verdicts.set(key, problems);
    return problems;
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

/**
 * Starts an execution: checks the workflow is runnable on this server, commits the
 * execution row (pinning the workflow version), then enqueues its job. When enqueueing
 * fails the execution stays `pending`; the executor's reconciler enqueues it later.
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
  const version = await deps.workflows.latestVersion(req.tenantId, req.workflowId);
  if (version === undefined) throw apiErrors.notFound('workflow', req.workflowId);
  const { problems, workerTags } = await deps.runnable.problems(
    `${req.workflowId}@${version}`,
    async () => {
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
    },
  );
  if (problems.length > 0) throw apiErrors.workflowNotRunnable(problems);
  // Redis known down: refuse before writing anything (a pending row would wait for the sweeper).
  if (deps.queue.isConnected?.() === false) throw apiErrors.queueUnavailable();
  await deps.queue.admitTags?.(workerTags);
  const result = await deps.executions.create({
    id: deps.ids.next(),
    tenantId: req.tenantId,
    workflowId: req.workflowId,
    workflowVersion: version,
    priority: req.priority,
    inputData: req.inputData,
    idempotencyKey: req.idempotencyKey,
    requestHash: req.idempotencyKey === undefined ? undefined : requestHash(req),
    traceContext: req.trace,
    at: deps.clock.now(),
  });
  switch (result.outcome) {
    case 'workflow_not_found':
      throw apiErrors.notFound('workflow', req.workflowId);
    case 'conflict':
      throw apiErrors.idempotencyConflict();
    case 'existing':
      return { created: false, execution: result.execution };
    case 'created':
      await enqueueOrLeavePending(deps.queue, { ...result.execution, workerTags }, log);
      return { created: true, execution: result.execution };
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
