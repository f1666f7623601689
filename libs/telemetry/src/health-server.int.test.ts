import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { runReadinessChecks, startHealthServer } from './health-server.ts';
import { createLogger } from './logger.ts';

describe('health server', () => {
  it('binds the given interface and answers readiness per check without raw errors', async () => {
    const log = createLogger({ level: 'silent', name: 'health-test' });
    const warn = vi.spyOn(log, 'warn');
    const leak = 'connect ECONNREFUSED 10.1.2.3:5432 password=hunter2';
    const ready = () =>
      runReadinessChecks(
        {
          postgres: () => Promise.reject(new TypeError(leak)),
          redis: () => Promise.resolve('PONG'),
        },
        () => Promise.resolve({ db: { ok: false, detail: `pool: ${leak}` }, http: { ok: true } }),
        log,
      );
    const server = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      registry: new Registry(),
      ready,
      log,
    });
    try {
      const { address, port } = server.address() as AddressInfo;
      expect(address).toBe('127.0.0.1');
      const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
      const text = await res.text();
      expect(res.status).toBe(503);
      expect(JSON.parse(text)).toEqual({
        status: 'unavailable',
        checks: {
          postgres: 'unavailable',
          redis: 'ok',
          'node:db': 'unavailable',
          'node:http': 'ok',
        },
      });
      expect(text).not.toContain('hunter2');
      expect(JSON.stringify(warn.mock.calls)).toContain('hunter2');
    } finally {
      server.close();
    }
  });
});
