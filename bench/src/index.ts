export { runBench } from './run-bench.ts';
export { optionsFromEnv, scaled, FULL_SCALE, type BenchOptions } from './options.ts';
export { formatTable, FIGURES, type BenchResults, type ScenarioRecord } from './report.ts';
