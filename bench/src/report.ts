import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cpuUsed, takeCpuState } from './cpu-accounting.ts';
import { round } from './stats.ts';

/** Load and duration recorded beside each scenario's figures. */
export interface ScenarioRecord {
  readonly cpus: number;
  readonly loadavg_start: readonly number[];
  readonly loadavg_end: readonly number[];
  readonly duration_s: number;
  /**
   * CPU seconds used during the scenario by the harness, the API and executor processes,
   * the bench database's Postgres backends (`postgres`), the other Postgres processes
   * (`postgres_shared`: WAL writer, checkpointer, other databases), Redis, `other` (busy
   * time outside all of these: kernel, other users of the machine), and
   * `machine_busy_pct`: how busy all CPUs were (100 = saturated).
   */
  readonly cpu_s: Readonly<Record<string, number>>;
  readonly details: Readonly<Record<string, unknown>>;
}

/** Every figure of {@link BenchResults}, in table order, with its target and scenario. */
export const FIGURES = [
  { field: 'bullmq_ceiling_jobs_per_s', scenario: 'bullmq_ceiling', target: 'ceiling' },
  { field: 'pg_ceiling_commits_per_s', scenario: 'pg_ceiling', target: 'ceiling' },
  { field: 'pg_commit_latency_ms', scenario: 'pg_commit_latency', target: 'floor' },
  { field: 'throughput_exec_per_s', scenario: 'throughput', target: '>= 1000' },
  { field: 'throughput_ratio_to_bullmq', scenario: 'throughput', target: '>= 0.25' },
  { field: 'latency_p50_ms', scenario: 'latency', target: '<= 5' },
  { field: 'latency_p99_ms', scenario: 'latency', target: '<= 25' },
  { field: 'latency_db_p50_ms', scenario: 'latency', target: 'info' },
  { field: 'latency_db_p99_ms', scenario: 'latency', target: 'info' },
  { field: 'ws_end_to_end_p50_ms', scenario: 'latency', target: 'info' },
  { field: 'ws_end_to_end_p99_ms', scenario: 'latency', target: 'info' },
  { field: 'per_node_overhead_ms', scenario: 'per_node_overhead', target: '<= 0.5' },
  { field: 'per_node_overhead_ratio', scenario: 'per_node_overhead', target: '<= 1.5' },
  { field: 'executor_rss_mb_start', scenario: 'rss_drift', target: 'info' },
  { field: 'executor_rss_mb_end', scenario: 'rss_drift', target: 'info' },
  { field: 'rss_drift_pct', scenario: 'rss_drift', target: '< 10' },
  { field: 'large_payload_ok', scenario: 'large_payload', target: '= true' },
  { field: 'large_payload_max_rss_mb', scenario: 'large_payload', target: '< 512' },
  { field: 'foreach_wall_ms', scenario: 'foreach', target: 'info' },
  { field: 'foreach_sequential_wall_ms', scenario: 'foreach', target: 'info' },
  { field: 'foreach_per_iteration_overhead_ms', scenario: 'foreach', target: 'info' },
  { field: 'foreach_ratio_to_sequential', scenario: 'foreach', target: '<= 2' },
  { field: 'api_get_rps', scenario: 'api_get', target: '>= 5000' },
  { field: 'ws_fanout_p50_ms', scenario: 'ws_fanout', target: 'info' },
  { field: 'ws_fanout_p99_ms', scenario: 'ws_fanout', target: '<= 50' },
  { field: 'ws_idle_kb_per_socket', scenario: 'ws_fanout', target: 'info' },
  { field: 'ws_100_subscribers_p50_ms', scenario: 'ws_100_subscribers', target: 'info' },
  { field: 'ws_100_subscribers_p99_ms', scenario: 'ws_100_subscribers', target: '<= 50' },
  { field: 'checkpoint_on_wall_ms', scenario: 'checkpoint_overhead', target: 'info' },
  { field: 'checkpoint_off_wall_ms', scenario: 'checkpoint_overhead', target: 'info' },
  { field: 'checkpoint_overhead_pct', scenario: 'checkpoint_overhead', target: '< 5' },
] as const satisfies readonly { field: string; scenario: string; target: string }[];

/** Name of a figure of the table. */
export type FigureField = (typeof FIGURES)[number]['field'];

/** The figures a run measured: only those of the scenarios it ran (BENCH_ONLY). */
export type FigureValues = { -readonly [K in FigureField]?: number | boolean };

/** The shape of bench/results/latest.json (field names from issues 4 and 13). */
export interface BenchResults extends Readonly<FigureValues> {
  readonly started_at: string;
  readonly duration_s: number;
  readonly scale: number;
  readonly executor_concurrency: number;
  /** `git describe`-like revision the processes ran from: short commit, `+dirty` if changed. */
  readonly revision: string | null;
  readonly machine: {
    readonly cpus: number;
    readonly loadavg_start: readonly number[];
    readonly loadavg_end: readonly number[];
    readonly node: string;
  };
  /** BENCH_ONLY as run (with the ceilings it pulled in); absent when everything ran. */
  readonly only?: readonly string[];
  /** How the latency figures were taken, when the latency scenario ran. */
  readonly latency_source?: 'websocket_stream';
  readonly notes: readonly string[];
  readonly scenarios: Readonly<Record<string, ScenarioRecord>>;
}

function meets(value: number | boolean, target: string): string {
  const match = /^(>=|<=|<|=) (.+)$/.exec(target);
  if (!match) return '';
  if (typeof value === 'number' && !Number.isFinite(value)) return 'NO';
  const [, op, raw] = match;
  if (op === '=') return String(value) === raw ? 'yes' : 'NO';
  const [v, t] = [Number(value), Number(raw)];
  const ok = op === '>=' ? v >= t : op === '<=' ? v <= t : v < t;
  return ok ? 'yes' : 'NO';
}

const TABLE_HEADER = [
  'figure',
  'value',
  'target',
  'met',
  'load 1m (start→end)',
  'busy %',
  'other cpu s',
  'cpus',
  'scenario s',
];

/** Load, machine busy %, CPU time spent outside the bench processes, CPU count, seconds. */
function scenarioCells(record: ScenarioRecord | undefined): string[] {
  if (!record) return ['', '', '', '', ''];
  const load = `${round(record.loadavg_start[0] ?? 0)}→${round(record.loadavg_end[0] ?? 0)}`;
  return [
    load,
    String(record.cpu_s['machine_busy_pct'] ?? ''),
    String(record.cpu_s['other'] ?? ''),
    String(record.cpus),
    String(record.duration_s),
  ];
}

/**
 * Table rows (strings) for the console and RESULTS.md: every figure the run measured;
 * `info` rows have no target.
 */
export function tableRows(results: BenchResults): string[][] {
  const measured = FIGURES.filter(({ field }) => results[field] !== undefined);
  const rows = measured.map(({ field, scenario, target }) => {
    const value = results[field] as number | boolean;
    return [
      field,
      String(typeof value === 'number' ? round(value) : value),
      target,
      meets(value, target),
      ...scenarioCells(results.scenarios[scenario]),
    ];
  });
  return [TABLE_HEADER, ...rows];
}

/** A Markdown pipe table with padded columns, readable in a terminal too. */
export function formatTable(results: BenchResults): string {
  const rows = tableRows(results);
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  const [header, ...body] = rows;
  const machine = results.machine;
  return [
    line(header ?? []),
    rule,
    ...body.map(line),
    '',
    `machine: ${machine.cpus} cpus, node ${machine.node}, load ${machine.loadavg_start.map((l) => round(l)).join(' ')} → ${machine.loadavg_end.map((l) => round(l)).join(' ')}; scale ${results.scale}; ${results.only ? `BENCH_ONLY ${results.only.join(',')}; ` : ''}${results.duration_s} s; revision ${results.revision ?? 'unknown'}`,
    ...results.notes.map((n) => `note: ${n}`),
    '',
  ].join('\n');
}

/** Writes the results as pretty JSON, creating the directory. */
export async function writeResults(filePath: string, results: BenchResults): Promise<void> {
  await mkdir(path.dirname(filePath), { recursive: true });
  await writeFile(filePath, `${JSON.stringify(results, null, 2)}\n`);
}

/** Where {@link recordScenario} records, and which processes' CPU time it accounts. */
export interface ScenarioTarget {
  readonly records: Record<string, ScenarioRecord>;
  readonly name: string;
  readonly log: (line: string) => void;
  /** Child processes (name → pid) whose CPU seconds are recorded beside the figures. */
  readonly processes?: Readonly<Record<string, number>>;
  /** The bench database: its Postgres backends are counted apart from the rest. */
  readonly database?: string | undefined;
}

/**
 * Runs `fn` as one scenario: records load average, CPU count, duration and the CPU seconds
 * of the harness and the given processes, and prints a row.
 */
export async function recordScenario<T>(
  target: ScenarioTarget,
  fn: () => Promise<T>,
  details: (result: T) => Record<string, unknown>,
): Promise<T> {
  const { records, name, log, processes = {}, database } = target;
  log(`▶ ${name} …`);
  const loadavgStart = os.loadavg();
  const cpuBefore = await takeCpuState(processes, database);
  const started = performance.now();
  const result = await fn();
  const durationS = (performance.now() - started) / 1000;
  const cpuS = cpuUsed(cpuBefore, await takeCpuState(processes, database));
  const record: ScenarioRecord = {
    cpus: os.cpus().length,
    loadavg_start: loadavgStart.map((l) => round(l)),
    loadavg_end: os.loadavg().map((l) => round(l)),
    duration_s: round(durationS, 1),
    cpu_s: cpuS,
    details: roundAll(details(result)),
  };
  records[name] = record;
  const figures = Object.entries(record.details).map(([k, v]) => `${k}=${String(v)}`);
  const cpu = Object.entries(cpuS)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  log(`  ${name.padEnd(18)} ${figures.join(' ')}`);
  log(
    `  ${''.padEnd(18)} [load ${record.loadavg_end.join(' ')}, ${record.cpus} cpus, ${record.duration_s} s; cpu s: ${cpu}]`,
  );
  return result;
}

/** Detail figures as they go into the JSON: snake_case keys, numbers rounded. */
function roundAll(values: Record<string, unknown>): Record<string, unknown> {
  const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return Object.fromEntries(
    Object.entries(values).map(([k, v]) => [snake(k), typeof v === 'number' ? round(v, 3) : v]),
  );
}
