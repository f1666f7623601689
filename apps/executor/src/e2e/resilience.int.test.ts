import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDeadLetterQueue,
  createRedis,
  subscribeEvents,
  type ExecutionEvent,
} from '@linkflow/queue';
import { startTestServer, type TestServer } from '../../../../test/http-test-server.ts';
import { testRedisUrl } from '../../../../test/fixtures.ts';
import { createExecutorHarness, n, type ExecutorHarness } from '../testing/executor-harness.ts';

let h: ExecutorHarness;
let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
  h = await createExecutorHarness();
});
afterAll(async () => {
  await h.close();
  await srv.close();
});

describe('events', () => {
  it('publishes every execution and node status change and each stored log line on Redis', async () => {
    await h.startExecutor();
    const sub = createRedis(testRedisUrl(), { role: 'subscriber' });
    const wf = await h.createWorkflow({
      name: 'ev',
      nodes: [n.transform('a', '1'), n.transform('b', '2')],
      edges: [{ from: 'a', to: 'b' }],
    });
    const id = await h.start(wf, {}, { enqueue: false });
    const seen: ExecutionEvent[] = [];
    const subscription = await subscribeEvents(sub, id, (e) => void seen.push(e));
    await h.queue.enqueue({ executionId: id, tenantId: h.tenantId, priority: 'normal' });
    await h.waitFor(id);
    await expect
      .poll(
        () =>
          seen.some(
            (e) => e.kind === 'status' && e.status === 'success' && e.node_id === undefined,
          ),
        { timeout: 5_000, interval: 20 },
      )
      .toBe(true);
    await subscription.unsubscribe();
    sub.disconnect();
    const statuses = seen.flatMap((e) =>
      e.kind === 'status' ? [`${e.node_id ?? 'execution'}:${e.status}`] : [],
    );
    expect(statuses).toEqual([
      'execution:running',
      'a:running',
      'a:success',
      'b:running',
      'b:success',
      'execution:success',
    ]);
    const seqs = seen.flatMap((e) => (e.kind === 'log' ? [e.entry.seq] : []));
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  });
});

describe('executor metrics and health', () => {
  it('serves Prometheus metrics and readiness with node-type health', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = probe.address() as AddressInfo;
        probe.close(() => resolve(p));
      });
    });
    const own = await createExecutorHarness();
    try {
      await own.startExecutor({ EXECUTOR_METRICS_PORT: String(port) });
      const id = await own.start(
        await own.createWorkflow({ name: 'm', nodes: [n.transform('a', '1')] }),
        {},
        { priority: 'high' },
      );
      await own.waitFor(id);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain(
        'linkflow_executions_started_total{workflow="m",priority="high"} 1',
      );
      expect(metrics).toMatch(/linkflow_executions_finished_total\{status="success"\} 1/);
      expect(metrics).toMatch(/linkflow_execution_cost_usd_total\{workflow="m"\} [0-9.e-]+/);
      expect(metrics).toContain(
        `linkflow_queue_jobs{queue="${own.queueName}",state="waiting",priority="high"} 0`,
      );
      expect(metrics).toContain('linkflow_dlq_size 0');
      const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({
        status: 'ok',
        checks: { postgres: 'ok', redis: 'ok', 'node:code': 'ok', 'node:db': 'ok' },
      });
    } finally {
      await own.close();
    }
  });
});

describe('dead-letter queue', () => {
  it('moves a job with a poison payload to the DLQ without retrying it', async () => {
    const own = await createExecutorHarness();
    const dlq = createDeadLetterQueue({ connection: own.redis, name: own.queueName });
    try {
      await own.startExecutor();
      await own.queue.queue.add('execution.run', { bogus: true } as never, {
        jobId: 'poison-1',
        priority: 5,
        attempts: 3,
      });
      await expect.poll(() => dlq.size(), { timeout: 10_000, interval: 20 }).toBeGreaterThan(0);
      expect(await dlq.size()).toBe(1);
      const job = await own.queue.queue.getJob('poison-1');
      expect(job?.attemptsMade).toBe(1);
      expect(job?.failedReason).toMatch(/poison job payload/);
      // a dead-lettered job of a real execution also ends the execution in Postgres
      const wf = await own.createWorkflow({ name: 'dead', nodes: [n.transform('a', '1')] });
      const id = await own.start(wf, {}, { enqueue: false });
      await own.queue.queue.add('execution.run', { execution_id: id } as never, {
        jobId: id,
        priority: 5,
      });
      const e = await own.waitFor(id, ['failed']);
      expect(e.error).toMatchObject({ type: 'UNKNOWN', node_id: null });
      expect(e.error?.message).toMatch(/^dead-lettered: poison job payload/);
      expect(e.transitions.map((t) => t.to)).toEqual(['pending', 'failed']);
    } finally {
      await dlq.queue.obliterate({ force: true });
      await dlq.close();
      await own.close();
    }
  });
});

describe('configuration', () => {
  it('fails an execution whose workflow uses a node type this executor does not enable', async () => {
    const limited = await createExecutorHarness({ LINKFLOW_NODE_TYPES: 'transform' });
    try {
      await limited.startExecutor();
      const id = await limited.start(
        await limited.createWorkflow({ name: 'off', nodes: [n.code('c', 'return 1')] }),
      );
      const e = await limited.waitFor(id);
      expect(e.error).toMatchObject({ type: 'VALIDATION' });
      expect(e.error?.message).toContain("node type 'code' is not enabled");
    } finally {
      await limited.close();
    }
  });
});

describe('Postgres blips', () => {
  it('keeps a node result when its connections are cut mid-run (checkpoint retried)', async () => {
    const own = await createExecutorHarness();
    try {
      await own.startExecutor({ EXECUTOR_ID: 'blip' });
      const wf = await own.createWorkflow({
        name: 'blip',
        nodes: [
          n.http('slow', `${srv.url}/slow?ms=400`),
          n.transform('after', 'nodes.slow.body.slept'),
        ],
        edges: [{ from: 'slow', to: 'after' }],
      });
      const id = await own.start(wf);
      await own.waitFor(id, ['running']);
      // ACT: cut every connection of that executor (only its own: other test files share the database)
      const cut = await own.db.pool.query(
        "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'linkflow-executor:blip'",
      );
      expect(cut.rowCount).toBeGreaterThan(0);
      const e = await own.waitFor(id);
      expect(e.status).toBe('success');
      expect(e.output).toEqual({ after: 400 });
    } finally {
      await own.close();
    }
  });
});

describe('reconciler', () => {
  it('enqueues an execution left pending without a job', async () => {
    const own = await createExecutorHarness();
    try {
      const wf = await own.createWorkflow({ name: 'orphan', nodes: [n.transform('a', '42')] });
      const id = await own.start(wf, {}, { enqueue: false });
      await own.db.pool.query(
        `update executions set created_at = now() - interval '10 minutes' where id = $1`,
        [id],
      );
      await own.startExecutor({
        EXECUTOR_RECONCILE_INTERVAL_MS: '200',
        EXECUTOR_RECONCILE_AFTER_MS: '300000',
      });
      expect((await own.waitFor(id)).output).toEqual({ a: 42 });
    } finally {
      await own.close();
    }
  });
});

describe('graceful shutdown', () => {
  it(
    'on SIGTERM stops taking work and lets a running execution finish',
    { timeout: 60_000 },
    async () => {
      const own = await createExecutorHarness();
      try {
        const main = fileURLToPath(new URL('../main.ts', import.meta.url));
        const child = spawn(process.execPath, ['--import', 'tsx', main], {
          env: { ...process.env, ...own.env, EXECUTOR_SHUTDOWN_GRACE_MS: '5000' },
          stdio: 'ignore',
        });
        const exited = new Promise<number | null>((resolve) =>
          child.once('exit', (code) => resolve(code)),
        );
        const wf = await own.createWorkflow({
          name: 'grace',
          nodes: [n.http('slow', `${srv.url}/slow?ms=1500&k={{ execution.id }}`)],
        });
        const id = await own.start(wf);
        await expect
          .poll(() => srv.calls.some((c) => c.path.includes(id)), { timeout: 30_000, interval: 20 })
          .toBe(true);
        // ACT: SIGTERM while the node runs, then offer new work
        child.kill('SIGTERM');
        await new Promise((r) => setTimeout(r, 100));
        const later = await own.start(wf);
        // ASSERT: clean exit after the running execution finished; the new job was not taken
        expect(await exited).toBe(0);
        expect((await own.get(id)).status).toBe('success');
        expect((await own.get(later)).status).toBe('pending');
      } finally {
        await own.close();
      }
    },
  );
});
