import { describe, expect, it } from 'vitest';
import { createApiHarness } from '../../apps/api/src/testing/api-harness.ts';
import { killed, useChildExecutorSuite } from '../../apps/executor/src/testing/child-executors.ts';
import { createExecutorHarness, n } from '../../apps/executor/src/testing/executor-harness.ts';
import { freePort } from '../app-processes.ts';

/*
 * A real executor (child process) with small breaker thresholds calls a local target that
 * answers 503: 3 counted failures (volume 3, 50 %) open the tenant's breaker for that host:port.
 */
const e2e = useChildExecutorSuite('brk', process.env);

const BREAKER_ENV = {
  LINKFLOW_BREAKER_VOLUME: '3',
  LINKFLOW_BREAKER_ERROR_PERCENT: '50',
  LINKFLOW_BREAKER_RESET_MS: '2000',
  LINKFLOW_BREAKER_WINDOW_MS: '60000',
  EXECUTOR_HEARTBEAT_MS: '500',
};

interface BreakerRow {
  target: string;
  tenant_id: string;
  state: string;
  failures: number;
  last_change_at: string;
  executor: string;
}

describe('circuit breaker end to end', () => {
  it(
    'opens after the threshold, fails fast with CIRCUIT_OPEN, probes after the reset and closes',
    { timeout: 90_000 },
    async () => {
      const metricsPort = await freePort();
      const h = await createExecutorHarness(BREAKER_ENV);
      const api = await createApiHarness({ queueName: h.queueName });
      const target = new URL(e2e.srv.url).host;
      const once = { retry: { max_attempts: 1 } };
      try {
        const failing = await h.createWorkflow({
          name: 'failing',
          nodes: [n.http('call', `${e2e.srv.url}/status/503`, once)],
        });
        const child = e2e.executors.spawn(h, { EXECUTOR_METRICS_PORT: String(metricsPort) });
        const run = async (wf: string) => h.waitFor(await h.start(wf), undefined, 30_000);
        const metrics = async () =>
          (await fetch(`http://127.0.0.1:${metricsPort}/metrics`).catch(() => undefined))?.text();
        const breakers = async () =>
          (await api.request('GET', '/api/admin/breakers')).json<BreakerRow[]>();

        // ARRANGE: three failing calls reach the target
        for (let i = 0; i < 3; i += 1) {
          const done = await run(failing);
          expect(done.status).toBe('failed');
          expect(done.nodeRuns[0]?.error?.type).not.toBe('CIRCUIT_OPEN');
        }
        expect(e2e.callsWith('/status/503')).toBe(3);

        // ACT: the next node meets the open breaker
        const fast = await run(failing);
        // ASSERT: it failed at once with CIRCUIT_OPEN, the target saw no fourth call
        expect(fast.status).toBe('failed');
        expect(fast.nodeRuns[0]?.error?.type).toBe('CIRCUIT_OPEN');
        expect(e2e.callsWith('/status/503')).toBe(3);
        await expect.poll(breakers, { timeout: 5_000 }).toEqual([
          expect.objectContaining({
            target,
            tenant_id: h.tenantId,
            state: 'open',
            failures: 3,
            executor: 'brk-0',
          }),
        ]);
        const opened = (await breakers())[0] as BreakerRow;
        expect(Date.parse(opened.last_change_at)).toBeGreaterThan(Date.now() - 60_000);
        const openText = await metrics();
        expect(openText).toContain(`linkflow_circuit_breaker_state{target="${target}"} 2`);
        expect(openText).toContain(
          `linkflow_circuit_breaker_transitions_total{target="${target}",to="open"} 1`,
        );

        // ACT: after the reset timeout one probe goes out to the same host:port and succeeds
        await expect
          .poll(async () => (await breakers())[0]?.state, { timeout: 10_000 })
          .toBe('half_open');
        const healthy = await h.createWorkflow({
          name: 'healthy',
          nodes: [n.http('probe', `${e2e.srv.url}/count/probe`, once)],
        });
        expect((await run(healthy)).status).toBe('success');
        // ASSERT: exactly one probe call, the breaker is closed everywhere it shows
        expect(e2e.srv.counts.get('count/probe')).toBe(1);
        await expect.poll(breakers, { timeout: 5_000 }).toEqual([
          expect.objectContaining({
            target,
            tenant_id: h.tenantId,
            state: 'closed',
            executor: 'brk-0',
          }),
        ]);
        const closedText = await metrics();
        expect(closedText).toContain(`linkflow_circuit_breaker_state{target="${target}"} 0`);
        expect(closedText).toContain(
          `linkflow_circuit_breaker_transitions_total{target="${target}",to="closed"} 1`,
        );

        // A killed executor's states vanish with their TTL (3 heartbeats).
        await killed(child);
        await expect.poll(breakers, { timeout: 10_000 }).toEqual([]);
      } finally {
        await api.app.close();
        await api.db.close();
        api.redis.disconnect();
        await h.close();
      }
    },
  );

  it(
    'aborts a call past its breaker timeout: the socket closes, the node fails TIMEOUT and the failure counts',
    { timeout: 60_000 },
    async () => {
      const h = await createExecutorHarness({ ...BREAKER_ENV, LINKFLOW_BREAKER_VOLUME: '1' });
      try {
        const started = Date.now();
        const hanging = await h.createWorkflow({
          name: 'hanging',
          nodes: [
            n.http('call', `${e2e.srv.url}/hang`, {
              retry: { max_attempts: 1 },
              timeout_ms: 30_000,
              circuit_breaker: { timeout_ms: 400 },
            }),
          ],
        });
        e2e.executors.spawn(h);
        // ACT: the target accepts the request and never answers
        const done = await h.waitFor(await h.start(hanging), undefined, 30_000);
        // ASSERT: the breaker timeout (not the node's 30 s) ended it, and closed the socket
        expect(done.status).toBe('failed');
        expect(done.nodeRuns[0]?.error).toMatchObject({
          type: 'TIMEOUT',
          message: expect.stringContaining('circuit breaker timeout of 400 ms') as unknown,
        });
        await expect.poll(() => e2e.srv.hangClosedAt.length, { timeout: 5_000 }).toBe(1);
        expect((e2e.srv.hangClosedAt[0] ?? 0) - started).toBeLessThan(15_000);
        // The timeout was a counted failure: with volume 1 the breaker is open now.
        const again = await h.waitFor(await h.start(hanging), undefined, 30_000);
        expect(again.nodeRuns[0]?.error?.type).toBe('CIRCUIT_OPEN');
        expect(e2e.callsWith('/hang')).toBe(1);
      } finally {
        await h.close();
      }
    },
  );
});
