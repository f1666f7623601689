import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { serviceEnv } from './fixtures.ts';

// API_WORKERS=2 runs the real API as a node:cluster primary and two workers on one port.

const main = fileURLToPath(new URL('../apps/api/src/main.ts', import.meta.url));
const STEP_MS = 100;
const WAIT_MS = 120_000;

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });

/** One request on a fresh connection (so the cluster may hand it to either worker). */
const get = (port: number, path: string) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once('error', reject);
    req.end();
  });

/** The pids of `pid`'s child processes. */
async function childrenOf(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const lists = await Promise.all(
    tasks.map((t) => readFile(`/proc/${pid}/task/${t}/children`, 'utf8').catch(() => '')),
  );
  return lists.join(' ').split(/\s+/).filter(Boolean).map(Number);
}

/** True while `pid` runs (a zombie, dead but not yet reaped, counts as ended). */
const alive = async (pid: number) => {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
};

/** Polls `check` until it holds; fails after WAIT_MS saying what it waited for. */
async function until(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new TypeError(`still waiting for ${what}`);
    await new Promise((r) => setTimeout(r, STEP_MS));
  }
}

const started: ChildProcess[] = [];
afterAll(() => {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
});

function startApi(port: number): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: {
      ...serviceEnv(port),
      API_WORKERS: '2',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  started.push(child);
  return { child, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

const requestsOf = (metrics: string, route: string) =>
  metrics
    .split('\n')
    .filter((l) => l.startsWith('linkflow_http_requests_total{') && l.includes(`route="${route}"`))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);

/** Whether the API on `port` answers ready (false while it cannot be reached). */
const isReady = (port: number) =>
  get(port, '/health/ready').then(
    (r) => r.status === 200,
    () => false,
  );

/** The API with two workers on a free port, once both exist and it answers ready. */
async function startReadyCluster() {
  const port = await freePort();
  const { child, exited } = startApi(port);
  const primary = child.pid ?? 0;
  await until('both workers', async () => (await childrenOf(primary)).length === 2);
  await until('readiness', () => isReady(port));
  return { port, child, exited, primary };
}

describe('API_WORKERS=2', () => {
  it('serves one port from two workers, merges their metrics, replaces a dead one and stops on SIGTERM', async () => {
    const { port, child, exited, primary } = await startReadyCluster();
    // ACT: requests on fresh connections, spread over both workers
    for (let i = 0; i < 6; i++) expect((await get(port, '/health/live')).status).toBe(200);
    // ASSERT: whichever worker answers /metrics counts every worker's requests
    const first = (await get(port, '/metrics')).body;
    const second = (await get(port, '/metrics')).body;
    expect(requestsOf(first, '/health/live')).toBeGreaterThanOrEqual(6);
    expect(requestsOf(second, '/health/live')).toBe(requestsOf(first, '/health/live'));
    // a worker that dies is replaced
    const [victim] = await childrenOf(primary);
    process.kill(victim ?? 0, 'SIGKILL');
    await until('a replacement worker', async () => {
      const now = await childrenOf(primary);
      return now.length === 2 && !now.includes(victim ?? 0);
    });
    await until('readiness again', () => isReady(port));
    // SIGTERM stops the workers and then the primary, cleanly
    const workers = await childrenOf(primary);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // (a worker reaped just before the primary exits can linger a moment as a zombie)
    await until(
      'the workers to end',
      async () => !(await Promise.all(workers.map(alive))).includes(true),
    );
  }, 400_000);

  it('still answers /metrics, without the stuck worker, while one worker hangs', async () => {
    const { port, child, exited, primary } = await startReadyCluster();
    const [stuck] = await childrenOf(primary);
    process.kill(stuck ?? 0, 'SIGSTOP');
    try {
      // ACT: scrapes on fresh connections; those handed to the stopped worker cannot answer
      let answered: { status: number; body: string } | undefined;
      await until('a scrape answered by the live worker', async () => {
        answered = await Promise.race([
          get(port, '/metrics').catch(() => undefined),
          new Promise<undefined>((r) => setTimeout(() => r(undefined), 4_000)),
        ]);
        return answered !== undefined;
      });
      // ASSERT: the live worker's metrics, not a 503 for the whole cluster
      expect(answered?.status).toBe(200);
      expect(answered?.body).toContain('linkflow_http_requests_total');
    } finally {
      process.kill(stuck ?? 0, 'SIGCONT');
    }
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 400_000);
});
