import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminKeyOn,
  api,
  freePort,
  startApp,
  stopApp,
  waitReady,
  waitUntil,
  type AppProcess,
} from './app-processes.ts';
import { serviceEnv, testDatabaseUrl } from './fixtures.ts';

// The collector is down (nothing listens on its port): export fails quietly and boundedly,
// and the API and the executor go on serving executions.

let apiApp: AppProcess;
let executor: AppProcess;
let base: string;
let key: string;
let closeKeys: () => Promise<void>;

beforeAll(async () => {
  const admin = await adminKeyOn(testDatabaseUrl());
  key = admin.key;
  closeKeys = admin.close;
  const [port, collectorPort] = [await freePort(), await freePort()];
  base = `http://127.0.0.1:${port}`;
  const env = {
    ...serviceEnv(port),
    EXECUTOR_METRICS_PORT: '0',
    EXECUTOR_RECONCILE_INTERVAL_MS: '86400000',
    LOG_LEVEL: 'info',
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collectorPort}`,
    OTEL_BSP_SCHEDULE_DELAY: '100',
    // Each export gives up after 1 s (retries included) rather than the default 10 s.
    OTEL_EXPORTER_OTLP_TIMEOUT: '1000',
  };
  apiApp = startApp('api', env);
  executor = startApp('executor', env);
  await waitReady(base, apiApp);
});

afterAll(async () => {
  await Promise.all([apiApp, executor].filter(Boolean).map((app) => stopApp(app)));
  await closeKeys?.();
});

describe('with the trace collector down', () => {
  it('runs executions as usual and reports the failed export as a warning', async () => {
    const workflow = await api(base, key, 'POST', '/api/workflows', {
      name: 'untraced',
      nodes: [{ id: 'a', type: 'transform', config: { expression: '1 + 1' } }],
    });
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const started = await api(base, key, 'POST', '/api/executions', {
        workflow_id: workflow.body['id'],
      });
      expect(started.status).toBe(202);
      ids.push(String(started.body['id']));
    }
    for (const id of ids) {
      const status = await waitUntil(
        `execution ${id} finishes`,
        async () => (await api(base, key, 'GET', `/api/executions/${id}`)).body['status'],
        (s) => s === 'success' || s === 'failed',
      );
      expect(status).toBe('success');
    }
    for (const app of [apiApp, executor]) {
      await expect
        .poll(() => app.json().filter((l) => l['msg'] === 'trace export failed; spans dropped'), {
          timeout: 15_000,
          interval: 100,
        })
        .toEqual([expect.objectContaining({ level: 'warn', failedBatches: expect.any(Number) })]);
    }
    expect(apiApp.child.exitCode).toBeNull();
    expect(executor.child.exitCode).toBeNull();
  });

  it('shuts down within its grace despite spans it cannot export', async () => {
    const started = Date.now();
    await stopApp(executor, 20_000);
    expect(executor.child.exitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
