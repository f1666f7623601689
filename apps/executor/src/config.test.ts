import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RATE_CARD } from '@linkflow/domain';
import { ConfigError, loadConfig } from './config.ts';

describe('executor loadConfig', () => {
  it('applies defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      queueName: 'linkflow-executions',
      concurrency: 32,
      metricsPort: 9464,
      metricsHost: '127.0.0.1',
      leaseMs: 30_000,
      maxStalledCount: 2,
      expressionTimeoutMs: 1000,
      dbConnections: {},
      httpAllow: [],
      benchSkipCheckpoints: false,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads the bench-only checkpoint switch and refuses a value that is not a flag', () => {
    expect(loadConfig({ LINKFLOW_BENCH_SKIP_CHECKPOINTS: '1' }).benchSkipCheckpoints).toBe(true);
    expect(() => loadConfig({ LINKFLOW_BENCH_SKIP_CHECKPOINTS: 'yes' })).toThrow(
      /LINKFLOW_BENCH_SKIP_CHECKPOINTS: expected 1 or 0/,
    );
  });

  it('reads the secrets keys (also from _FILE) and names a bad one', () => {
    const key = Buffer.alloc(32, 1).toString('base64');
    const previous = Buffer.alloc(32, 2).toString('base64');
    const file = join(mkdtempSync(join(tmpdir(), 'lf-key-')), 'key');
    writeFileSync(file, `${key}\n`);
    const config = loadConfig({
      LINKFLOW_SECRETS_KEY_FILE: file,
      LINKFLOW_SECRETS_KEY_PREVIOUS: previous,
    });
    expect(config.secretsKeys).toEqual({ current: key, previous });
    expect(() => loadConfig({ LINKFLOW_SECRETS_KEY_PREVIOUS: 'short' })).toThrow(
      'LINKFLOW_SECRETS_KEY_PREVIOUS: expected 32 bytes in base64',
    );
  });

  it('reports every bad value at once', () => {
    try {
      loadConfig({
        EXECUTOR_CONCURRENCY: '0',
        REDIS_URL: 'http://x',
        LINKFLOW_DB_CONNECTIONS: '{',
        LINKFLOW_NODE_TYPES: 'http,smtp',
        LINKFLOW_EXPRESSION_TIMEOUT_MS: '0',
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues).toHaveLength(5);
    }
  });

  it('reads the per-tenant slot share and the retained-output budget, unset by default', () => {
    expect(loadConfig({})).toMatchObject({
      slotsPerTenant: undefined,
      maxRetainedOutputBytes: undefined,
    });
    expect(
      loadConfig({
        EXECUTOR_SLOTS_PER_TENANT: '3',
        LINKFLOW_MAX_RETAINED_OUTPUT_BYTES: '52428800',
      }),
    ).toMatchObject({ slotsPerTenant: 3, maxRetainedOutputBytes: 52_428_800 });
    expect(() => loadConfig({ EXECUTOR_SLOTS_PER_TENANT: '0' })).toThrow(ConfigError);
  });

  it('reads worker tags sorted and deduplicated, the heartbeat and the aging bound', () => {
    expect(loadConfig({})).toMatchObject({ tags: [], heartbeatMs: 5_000, priorityAgingMs: 60_000 });
    expect(
      loadConfig({ EXECUTOR_TAGS: 'gpu, eu,gpu', EXECUTOR_HEARTBEAT_MS: '500' }),
    ).toMatchObject({ tags: ['eu', 'gpu'], heartbeatMs: 500 });
  });

  it('refuses invalid worker tags, naming them', () => {
    expect(() => loadConfig({ EXECUTOR_TAGS: 'GPU,eu west' })).toThrow(
      /EXECUTOR_TAGS: invalid tags GPU, eu west/,
    );
  });

  it('reads the metric label caps and refuses a cap below 1', () => {
    expect(
      loadConfig({ LINKFLOW_METRICS_MAX_WORKFLOWS: '5', LINKFLOW_METRICS_MAX_TARGETS: '7' }),
    ).toMatchObject({ metricsMaxWorkflows: 5, metricsMaxTargets: 7 });
    expect(() => loadConfig({ LINKFLOW_METRICS_MAX_WORKFLOWS: '0' })).toThrow(
      /LINKFLOW_METRICS_MAX_WORKFLOWS/,
    );
    expect(() => loadConfig({ LINKFLOW_METRICS_MAX_TARGETS: 'many' })).toThrow(ConfigError);
  });

  it('reads the breaker thresholds, keeping the registry defaults when unset', () => {
    expect(loadConfig({}).breaker).toEqual({
      errorThresholdPercentage: 50,
      volumeThreshold: 5,
      resetTimeoutMs: 10_000,
      rollingCountTimeoutMs: 10_000,
      timeoutMs: 30_000,
    });
    expect(
      loadConfig({
        LINKFLOW_BREAKER_ERROR_PERCENT: '80',
        LINKFLOW_BREAKER_VOLUME: '2',
        LINKFLOW_BREAKER_RESET_MS: '500',
        LINKFLOW_BREAKER_WINDOW_MS: '60000',
        LINKFLOW_BREAKER_TIMEOUT_MS: '0',
      }).breaker,
    ).toEqual({
      errorThresholdPercentage: 80,
      volumeThreshold: 2,
      resetTimeoutMs: 500,
      rollingCountTimeoutMs: 60_000,
      timeoutMs: 0,
    });
  });

  it('refuses breaker thresholds out of range, naming each', () => {
    try {
      loadConfig({
        LINKFLOW_BREAKER_ERROR_PERCENT: '101',
        LINKFLOW_BREAKER_VOLUME: '0',
        LINKFLOW_BREAKER_RESET_MS: 'soon',
        LINKFLOW_BREAKER_WINDOW_MS: '5',
        LINKFLOW_BREAKER_TIMEOUT_MS: '-1',
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const text = JSON.stringify((err as ConfigError).issues);
      for (const name of ['ERROR_PERCENT', 'VOLUME', 'RESET_MS', 'WINDOW_MS', 'TIMEOUT_MS'])
        expect(text).toContain(`LINKFLOW_BREAKER_${name}`);
    }
  });

  it('reads the rate card from the LINKFLOW_RATE_CARD file over the defaults', () => {
    expect(loadConfig({}).rateCard).toEqual(DEFAULT_RATE_CARD);
    const path = join(mkdtempSync(join(tmpdir(), 'lf-rate-')), 'card.json');
    writeFileSync(path, JSON.stringify({ per_node_run: 0.002, per_row: 0 }));
    expect(loadConfig({ LINKFLOW_RATE_CARD: path }).rateCard).toEqual({
      ...DEFAULT_RATE_CARD,
      per_node_run: 0.002,
      per_row: 0,
    });
    expect(loadConfig({ LINKFLOW_RATE_CARD: '{"per_cpu_ms": 1}' }).rateCard.per_cpu_ms).toBe(1);
  });

  it('refuses a rate card file with a bad field, or one it cannot read, naming it', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'lf-rate-')), 'card.json');
    writeFileSync(path, JSON.stringify({ per_wall_ms: 'cheap' }));
    const issuesOf = (value: string) => {
      try {
        loadConfig({ LINKFLOW_RATE_CARD: value });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).issues;
      }
      return expect.unreachable();
    };
    expect(issuesOf(path)).toEqual([expect.stringMatching(/^LINKFLOW_RATE_CARD: per_wall_ms: /)]);
    expect(issuesOf(join(path, '..', 'missing.json'))).toEqual([
      expect.stringMatching(/^LINKFLOW_RATE_CARD: cannot read /),
    ]);
  });
});
