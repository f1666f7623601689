import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const main = (app: string) => fileURLToPath(new URL(`../apps/${app}/src/main.ts`, import.meta.url));

describe('start-up with a bad configuration', () => {
  it.each(['api', 'executor'])('the %s exits 78 naming every bad variable', (app) => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', main(app)], {
      env: {
        ...process.env,
        REDIS_URL: 'http://nope',
        LINKFLOW_NODE_TYPES: 'http,smtp',
        EXECUTOR_CONCURRENCY: '0',
        API_PORT: '80a',
        LINKFLOW_SECRETS_KEY: 'not-a-key',
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(res.status).toBe(78);
    expect(res.stderr).toContain(`linkflow-${app}: invalid configuration`);
    expect(res.stderr).toContain('REDIS_URL: expected a redis: or rediss: URL');
    expect(res.stderr).toContain('LINKFLOW_NODE_TYPES: unknown node types smtp');
    expect(res.stderr).toContain('LINKFLOW_SECRETS_KEY: expected 32 bytes in base64');
    expect(res.stderr).not.toContain('not-a-key');
    expect(res.stderr).toContain(
      app === 'api'
        ? 'API_PORT: expected integer 1-65535, got "80a"'
        : 'EXECUTOR_CONCURRENCY: expected integer 1-1000, got "0"',
    );
  });
});
