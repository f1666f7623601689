import { describe, expect, it } from 'vitest';
import { FULL_SCALE, optionsFromEnv, scaled } from './options.ts';

describe('scaled', () => {
  it('keeps the issue-4 counts at scale 1', () => {
    expect(scaled(1)).toEqual(FULL_SCALE);
  });

  it('scales every count and duration but keeps at least one', () => {
    const counts = scaled(0.002);
    expect(counts.throughputExecutions).toBe(10);
    expect(counts.chainRuns).toBe(1);
    expect(counts.apiGetSeconds).toBe(1);
    expect(counts.pgCeilingSeconds).toBe(1);
  });
});

describe('optionsFromEnv', () => {
  it('reads the knobs and defaults the rest', () => {
    const options = optionsFromEnv({ BENCH_SCALE: '0.5', BENCH_EXECUTOR_CONCURRENCY: '8' });
    expect(options.scale).toBe(0.5);
    expect(options.executorConcurrency).toBe(8);
    expect(options.databaseBaseUrl).toBe('postgresql://postgres@127.0.0.1:5432/postgres');
    expect(options.resultsPath).toMatch(/bench\/results\/latest\.json$/);
  });

  it('rejects a scale that is not a positive number', () => {
    expect(() => optionsFromEnv({ BENCH_SCALE: '0' })).toThrow(/BENCH_SCALE/);
  });
});
