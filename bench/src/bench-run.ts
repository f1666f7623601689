import type { CleanupStack } from './cleanup.ts';
import type { BenchOptions, ScaledCounts, ScenarioName } from './options.ts';
import type { FigureValues, ScenarioRecord, ScenarioTarget } from './report.ts';
import type { Stack } from './services.ts';

/** One benchmark run's state: what it runs, and the figures and notes it gathered so far. */
export interface BenchRun {
  readonly options: BenchOptions;
  /** Name of the bench database, once created. */
  database?: string;
  readonly counts: ScaledCounts;
  /** The scenarios this run does (BENCH_ONLY plus the ceilings it needs; all by default). */
  readonly selected: ReadonlySet<ScenarioName>;
  readonly records: Record<string, ScenarioRecord>;
  readonly figures: FigureValues;
  readonly notes: string[];
  readonly cleanup: CleanupStack;
  /** Ceilings measured, for the ratio figures. */
  bullmqJobsPerS?: number;
  pgCommitLatencyMs?: number;
}

/** True when the run does `name`. */
export function wants(run: BenchRun, name: ScenarioName): boolean {
  return run.selected.has(name);
}

/** Where {@link recordScenario} records one scenario, with the processes to account. */
export function scenarioTarget(
  run: BenchRun,
  name: ScenarioName,
  stacks: readonly Stack[] = [],
): ScenarioTarget {
  const processes: Record<string, number> = {};
  stacks.forEach((stack, i) => {
    const suffix = i === 0 ? '' : `_${i + 1}`;
    processes[`api${suffix}`] = stack.api.pid;
    processes[`executor${suffix}`] = stack.executor.pid;
  });
  const { records, options, database } = run;
  return { records, name, log: options.log, processes, database };
}

/** A scenario result as its details (the record converts keys to snake_case). */
export function asDetails(result: object): Record<string, unknown> {
  return { ...result };
}
