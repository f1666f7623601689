import { randomUUID } from 'node:crypto';
import { uuidv7 } from 'uuidv7';
import type { Priority, WorkflowDefinition } from '@linkflow/domain';
import { createExecutionQueue, createRedis, type ExecutionQueue } from '@linkflow/queue';
import {
  createApiKeyRepository,
  createDb,
  createExecutionRepository,
  createWorkflowRepository,
  type Db,
  type ExecutionDetail,
} from '@linkflow/store';
import { createLogger } from '@linkflow/telemetry';
import type { Redis } from '@linkflow/queue';
import { testDatabaseUrl, testRedisUrl } from '../../../../test/fixtures.ts';
import { loadConfig } from '../config.ts';
import { startExecutor, type RunningExecutor } from '../executor.ts';

/** Real Postgres + Redis, a fresh queue, and helpers to run workflows through an executor. */
export interface ExecutorHarness {
  readonly db: Db;
  readonly queue: ExecutionQueue;
  readonly redis: Redis;
  readonly queueName: string;
  readonly tenantId: string;
  /** Environment for an executor on this harness's queue (for child processes too). */
  readonly env: Record<string, string>;
  startExecutor(env?: Record<string, string>): Promise<RunningExecutor>;
  createWorkflow(definition: WorkflowDefinition): Promise<string>;
  start(
    workflowId: string,
    input?: unknown,
    options?: { priority?: Priority; timeoutSeconds?: number; enqueue?: boolean },
  ): Promise<string>;
  get(executionId: string): Promise<ExecutionDetail>;
  waitFor(
    executionId: string,
    statuses?: readonly string[],
    timeoutMs?: number,
  ): Promise<ExecutionDetail>;
  close(): Promise<void>;
}

/**
 * `databaseUrl` points the harness (and its executors) at another database, e.g. a scratch
 * database for a test whose sweeper must not see other test files' executions.
 */
export async function createExecutorHarness(
  baseEnv: Record<string, string> = {},
  options: { databaseUrl?: string } = {},
): Promise<ExecutorHarness> {
  const ids = { next: () => uuidv7() };
  const databaseUrl = options.databaseUrl ?? testDatabaseUrl();
  const db = createDb({ url: databaseUrl, maxConnections: 4 });
  const redis = createRedis(testRedisUrl(), { role: 'producer' });
  const queueName = `t-${randomUUID()}`;
  const queue = createExecutionQueue({ connection: redis, name: queueName });
  const tenantId = await createApiKeyRepository({ prisma: db.prisma, ids }).ensureTenant(
    `t-${randomUUID()}`,
  );
  const workflows = createWorkflowRepository({ prisma: db.prisma, pool: db.pool, ids });
  const executions = createExecutionRepository({ pool: db.pool });
  const executors: RunningExecutor[] = [];
  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: testRedisUrl(),
    LINKFLOW_QUEUE: queueName,
    EXECUTOR_METRICS_PORT: '0',
    LINKFLOW_HTTP_ALLOW: '127.0.0.1',
    LINKFLOW_DB_CONNECTIONS: JSON.stringify({ main: databaseUrl }),
    // `main` is the superuser on the test database: tests opt in to the privileged role.
    LINKFLOW_DB_ALLOW_PRIVILEGED: '1',
    EXECUTOR_CONCURRENCY: '8',
    EXECUTOR_LOCK_MS: '2000',
    EXECUTOR_STALLED_INTERVAL_MS: '1000',
    LOG_LEVEL: 'silent',
    // Test files share one database: a reconciler would take other files' pending executions.
    EXECUTOR_RECONCILE_INTERVAL_MS: '86400000',
    ...baseEnv,
  };
  const get = async (id: string) => {
    const detail = await executions.get(tenantId, id);
    if (!detail) throw new TypeError(`execution ${id} not found`);
    return detail;
  };
  return {
    db,
    queue,
    redis,
    queueName,
    tenantId,
    env,
    async startExecutor(extra = {}) {
      const config = loadConfig({
        ...env,
        EXECUTOR_ID: `test-${randomUUID().slice(0, 8)}`,
        ...extra,
      });
      const executor = await startExecutor(
        config,
        createLogger({ level: config.logLevel, name: 'executor-test' }),
      );
      executors.push(executor);
      return executor;
    },
    async createWorkflow(definition) {
      return (await workflows.create(tenantId, definition)).id;
    },
    async start(workflowId, input = {}, options = {}) {
      const wf = await workflows.get(tenantId, workflowId);
      const created = await executions.create({
        id: ids.next(),
        tenantId,
        workflowId,
        workflowVersion: wf?.version ?? 1,
        priority: options.priority ?? 'normal',
        inputData: input,
        timeoutSeconds: options.timeoutSeconds,
        at: new Date(),
      });
      if (created.outcome !== 'created')
        throw new TypeError(`could not create execution: ${created.outcome}`);
      if (options.enqueue !== false)
        await queue.enqueue({
          executionId: created.execution.id,
          tenantId,
          priority: options.priority ?? 'normal',
        });
      return created.execution.id;
    },
    get,
    async waitFor(id, statuses = ['success', 'failed', 'cancelled'], timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const detail = await get(id);
        if (statuses.includes(detail.status)) return detail;
        if (Date.now() > deadline)
          throw new TypeError(`execution ${id} still ${detail.status} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      await Promise.all(executors.map((e) => e.stop(1000)));
      await queue.queue.obliterate({ force: true });
      await queue.close();
      redis.disconnect();
      await db.close();
    },
  };
}

/** Shorthand node builders for tests. */
export const n = {
  transform: (id: string, expression: string) => ({
    id,
    type: 'transform',
    config: { expression },
  }),
  condition: (id: string, expression: string) => ({
    id,
    type: 'condition',
    config: { expression },
  }),
  http: (id: string, url: string, extra: Record<string, unknown> = {}) => ({
    id,
    type: 'http',
    config: { url },
    ...extra,
  }),
  code: (id: string, source: string, extra: Record<string, unknown> = {}) => ({
    id,
    type: 'code',
    config: { source, ...extra },
  }),
};
