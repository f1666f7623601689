import { spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { dropDemoDatabase, ensureDemoDatabase } from '../scripts/demo-db.ts';
import { testDatabaseUrl, testRedisUrl } from './fixtures.ts';

const main = (app: string) => fileURLToPath(new URL(`../apps/${app}/src/main.ts`, import.meta.url));
const ADMIN_URL =
  process.env.TEST_DATABASE_BASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const DEAD_URL = 'postgresql://postgres@127.0.0.1:1/postgres';

// ARRANGE (shared): `make up`'s least-privileged demo role, and a role that may read server
// files, both under unique names and dropped afterwards.
const suffix = randomBytes(4).toString('hex');
const demo = { adminUrl: ADMIN_URL, role: `lf_t_su_demo_${suffix}`, database: `lf_t_su_${suffix}` };
const filesRole = `lf_t_files_${suffix}`;
let demoUrl: string;
let filesUrl: string;

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  demoUrl = await ensureDemoDatabase({ ...demo, password: `pw_${suffix}` });
  await admin(`create role ${filesRole} login in role pg_read_server_files`);
  await admin(`grant connect on database ${demo.database} to ${filesRole}`);
  const url = new URL(demoUrl);
  url.username = filesRole;
  url.password = '';
  filesUrl = url.toString();
});

afterAll(async () => {
  await dropDemoDatabase(demo);
  await admin(`drop role if exists ${filesRole}`);
});

/** Enough environment for either app to start against the test services, on a fresh queue. */
function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: testDatabaseUrl(),
    REDIS_URL: testRedisUrl(),
    LINKFLOW_QUEUE: `t-${randomUUID()}`,
    API_PORT: String(20_000 + Math.floor(Math.random() * 20_000)),
    EXECUTOR_METRICS_PORT: '0',
    EXECUTOR_RECONCILE_INTERVAL_MS: '86400000',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

describe('start-up with privileged db connections', () => {
  it.each(['api', 'executor'])('the %s exits 78 naming each privileged connection', (app) => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', main(app)], {
      env: env({
        LINKFLOW_DB_CONNECTIONS: JSON.stringify({
          main: ADMIN_URL,
          files: filesUrl,
          demo: demoUrl,
        }),
      }),
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(res.status).toBe(78);
    expect(res.stderr).toContain(`linkflow-${app}: invalid configuration`);
    expect(res.stderr).toContain(
      'LINKFLOW_DB_CONNECTIONS: connection "main" is refused: role "postgres" is a superuser;',
    );
    expect(res.stderr).toContain(
      `LINKFLOW_DB_CONNECTIONS: connection "files" is refused: role "${filesRole}" is a member of pg_read_server_files;`,
    );
    expect(res.stderr).not.toContain('connection "demo"');
  });

  it('the executor starts with LINKFLOW_DB_ALLOW_PRIVILEGED=1 and an unreachable connection, warning about both', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', main('executor')], {
      env: env({
        LINKFLOW_DB_CONNECTIONS: JSON.stringify({ main: ADMIN_URL, dead: DEAD_URL, demo: demoUrl }),
        LINKFLOW_DB_ALLOW_PRIVILEGED: '1',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      await expect
        .poll(() => out, { timeout: 20_000, interval: 100 })
        .toContain('db connection unreachable at start-up');
      await expect
        .poll(() => out, { timeout: 5_000, interval: 100 })
        .toContain('db connection uses a privileged role, allowed by LINKFLOW_DB_ALLOW_PRIVILEGED');
      expect(out).toContain('"connection":"dead"');
      expect(out).not.toContain('"connection":"demo"');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
