// Smoke test of the benchmark harness: the whole of `make bench` (fresh database, queue,
// real API and executor processes, every scenario) at a tiny scale, so it cannot rot.
// It checks the shape of the results and the cleanup, never the figures (STYLE §8).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRedisUrl } from '../test/fixtures.ts';
import { FIGURES, runBench, tableRows, type BenchResults } from './src/index.ts';

const BASE_URL =
  process.env.TEST_DATABASE_BASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

async function databaseExists(name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: BASE_URL });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    return rowCount === 1;
  } finally {
    await client.end();
  }
}

async function queueKeys(redisUrl: string, queue: string): Promise<string[]> {
  const redis = new Redis(redisUrl);
  try {
    return await redis.keys(`bull:${queue}*`);
  } finally {
    await redis.quit();
  }
}

describe('runBench', () => {
  let dir: string;
  let results: BenchResults;
  const lines: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'linkflow-bench-'));
    results = await runBench({
      scale: 0.002,
      executorConcurrency: 50,
      databaseBaseUrl: BASE_URL,
      redisUrl: testRedisUrl(),
      resultsPath: path.join(dir, 'latest.json'),
      log: (line) => lines.push(line),
    });
  }, 180_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes every figure of latest.json as a number or a boolean', async () => {
    const written = JSON.parse(await readFile(path.join(dir, 'latest.json'), 'utf8'));
    expect(written).toEqual(JSON.parse(JSON.stringify(results)));
    for (const { field } of FIGURES) {
      const value = written[field];
      if (field === 'large_payload_ok') expect(typeof value, field).toBe('boolean');
      else expect(Number.isFinite(value), `${field} = ${value}`).toBe(true);
    }
    expect(written.latency_source).toBe('websocket_stream');
    expect(written).not.toHaveProperty('only');
    expect(typeof written.started_at).toBe('string');
    expect(written).toHaveProperty('revision');
    expect(Number.isFinite(written.duration_s)).toBe(true);
    expect(written.machine.cpus).toBeGreaterThan(0);
    expect(written.machine.loadavg_start).toHaveLength(3);
    expect(written.machine.loadavg_end).toHaveLength(3);
    expect(typeof written.machine.node).toBe('string');
  });

  it('has the round-two rows, each with a target', () => {
    const rows = new Map(tableRows(results).map((r) => [r[0], r]));
    for (const field of [
      'latency_p50_ms',
      'latency_p99_ms',
      'latency_db_p50_ms',
      'latency_db_p99_ms',
      'ws_100_subscribers_p99_ms',
      'checkpoint_overhead_pct',
      'foreach_ratio_to_sequential',
    ]) {
      const row = rows.get(field);
      expect(row, field).toBeDefined();
      expect(row?.[2], field).not.toBe('');
    }
    expect(rows.get('checkpoint_overhead_pct')?.[2]).toBe('< 5');
    expect(rows.get('ws_100_subscribers_p99_ms')?.[2]).toBe('<= 50');
    expect(rows.get('foreach_ratio_to_sequential')?.[2]).toBe('<= 2');
  });

  it('records load and CPU count beside each scenario', () => {
    const names = new Set(FIGURES.map((f) => f.scenario));
    for (const name of names) {
      const record = results.scenarios[name];
      expect(record, name).toBeDefined();
      expect(record?.cpus).toBeGreaterThan(0);
      expect(record?.loadavg_end).toHaveLength(3);
    }
  });

  it('drops its database and obliterates its queues', async () => {
    const match = lines.map((l) => /^database (\S+), queue (\S+)$/.exec(l)).find(Boolean);
    expect(match, lines.join('\n')).toBeTruthy();
    const [, database, queue] = match as RegExpExecArray;
    expect(await databaseExists(database as string)).toBe(false);
    expect(await queueKeys(testRedisUrl(), queue as string)).toEqual([]);
  });
});
