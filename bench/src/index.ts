export { runBench } from './run-bench.ts';
export {
  optionsFromEnv,
  scaled,
  FULL_SCALE,
  SCENARIO_NAMES,
  type BenchOptions,
} from './options.ts';
export {
  formatTable,
  FIGURES,
  tableRows,
  type BenchResults,
  type ScenarioRecord,
} from './report.ts';
