import { describe, expect, it } from 'vitest';
import { BenchError } from './bench-error.ts';
import {
  FULL_SCALE,
  optionsFromEnv,
  parseOnly,
  scaled,
  SCENARIO_NAMES,
  selectedScenarios,
  STACK_SCENARIOS,
} from './options.ts';

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

describe('parseOnly', () => {
  it('runs everything when BENCH_ONLY is unset or empty', () => {
    expect(parseOnly(undefined)).toBeUndefined();
    expect(parseOnly(' , ')).toBeUndefined();
    expect(optionsFromEnv({}).only).toBeUndefined();
  });

  it('reads a comma list, ignoring spaces and empty items', () => {
    expect(parseOnly('latency, ws_100_subscribers,,')).toEqual(
      new Set(['latency', 'ws_100_subscribers']),
    );
    expect(optionsFromEnv({ BENCH_ONLY: 'foreach' }).only).toEqual(new Set(['foreach']));
  });

  it('refuses an unknown name, listing the valid ones', () => {
    expect(() => parseOnly('latency,latnecy')).toThrow(BenchError);
    expect(() => parseOnly('latnecy')).toThrow(
      /unknown scenario latnecy; valid names: bullmq_ceiling, .*checkpoint_overhead/,
    );
  });
});

describe('selectedScenarios', () => {
  it('selects every scenario without BENCH_ONLY', () => {
    expect([...selectedScenarios(undefined)]).toEqual([...SCENARIO_NAMES]);
  });

  it('adds the ceilings a selected ratio needs', () => {
    expect(selectedScenarios(new Set(['throughput', 'per_node_overhead'] as const))).toEqual(
      new Set(['throughput', 'per_node_overhead', 'bullmq_ceiling', 'pg_commit_latency']),
    );
    expect(selectedScenarios(new Set(['latency'] as const))).toEqual(new Set(['latency']));
  });
});

describe('STACK_SCENARIOS', () => {
  it('starts the processes for every execution scenario and for none of the ceilings', () => {
    expect(STACK_SCENARIOS).toContain('throughput');
    expect(STACK_SCENARIOS).toContain('checkpoint_overhead');
    expect(STACK_SCENARIOS).not.toContain('bullmq_ceiling');
    expect(STACK_SCENARIOS).not.toContain('pg_commit_latency');
    expect(STACK_SCENARIOS).toHaveLength(SCENARIO_NAMES.length - 3);
  });
});
