import { readdir, readFile } from 'node:fs/promises';

/** Clock ticks per second of /proc times (USER_HZ; 100 on Linux). */
export const USER_HZ = 100;

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat; 0 when gone. */
export async function readCpuSeconds(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return 0;
  }
}

/** Pids whose command name (/proc/<pid>/comm) is one of `names`, with their title. */
async function processesNamed(names: ReadonlySet<string>): Promise<Map<number, string>> {
  const found = new Map<number, string>();
  const entries = await readdir('/proc');
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e))
      .map(async (e) => {
        const comm = (await readFile(`/proc/${e}/comm`, 'utf8').catch(() => '')).trim();
        if (!names.has(comm)) return;
        const cmdline = await readFile(`/proc/${e}/cmdline`, 'utf8').catch(() => '');
        found.set(Number(e), `${comm} ${cmdline.replaceAll('\0', ' ')}`);
      }),
  );
  return found;
}

/** CPU seconds per process of a snapshot, keyed by pid. */
export type CpuSnapshot = ReadonlyMap<number, number>;

/** CPU snapshots of the services, split by whom they serve. */
export interface ServiceCpu {
  /** Postgres backends connected to the bench database (their process title names it). */
  readonly postgres: CpuSnapshot;
  /** Every other postgres process: WAL writer, checkpointer, other databases' backends. */
  readonly postgresShared: CpuSnapshot;
  readonly redis: CpuSnapshot;
}

/** CPU seconds of every running `postgres` and `redis-server` process, grouped. */
export async function serviceCpu(database: string | undefined): Promise<ServiceCpu> {
  const found = await processesNamed(new Set(['postgres', 'redis-server']));
  const groups = {
    postgres: new Map<number, number>(),
    postgresShared: new Map<number, number>(),
    redis: new Map<number, number>(),
  };
  await Promise.all(
    [...found].map(async ([pid, title]) => {
      const ours = database !== undefined && title.includes(` ${database} `);
      const group = title.startsWith('redis-server')
        ? groups.redis
        : ours
          ? groups.postgres
          : groups.postgresShared;
      group.set(pid, await readCpuSeconds(pid));
    }),
  );
  return groups;
}

/**
 * CPU seconds used between two snapshots, summed over processes; a process that started in
 * between counts from zero, one that ended in between is missed.
 */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): number {
  let sum = 0;
  for (const [pid, seconds] of after) sum += seconds - (before.get(pid) ?? 0);
  return sum;
}

/** Busy and total CPU ticks of the whole machine, from the first line of /proc/stat. */
export async function machineTicks(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busy: total - idle, total };
}

/** CPU counters at one moment: named processes, services, the whole machine. */
export interface CpuState {
  readonly processes: Readonly<Record<string, number>>;
  readonly services: ServiceCpu;
  readonly machine: { readonly busy: number; readonly total: number };
}

/** Reads the CPU counters of `processes` (name → pid), the harness itself and the services. */
export async function takeCpuState(
  processes: Readonly<Record<string, number>>,
  database: string | undefined,
): Promise<CpuState> {
  const entries = await Promise.all(
    Object.entries(processes).map(async ([name, pid]): Promise<[string, number]> => [
      name,
      await readCpuSeconds(pid),
    ]),
  );
  const own = process.cpuUsage();
  return {
    processes: { ...Object.fromEntries(entries), harness: (own.user + own.system) / 1e6 },
    services: await serviceCpu(database),
    machine: await machineTicks(),
  };
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/**
 * CPU seconds per group between two states, `other` (busy time no group accounts for) and
 * `machine_busy_pct` (100 = every CPU busy the whole time).
 */
export function cpuUsed(before: CpuState, after: CpuState): Record<string, number> {
  const used: Record<string, number> = {};
  for (const [name, s] of Object.entries(after.processes)) {
    used[name] = round2(s - (before.processes[name] ?? 0));
  }
  used['postgres'] = round2(cpuBetween(before.services.postgres, after.services.postgres));
  used['postgres_shared'] = round2(
    cpuBetween(before.services.postgresShared, after.services.postgresShared),
  );
  used['redis'] = round2(cpuBetween(before.services.redis, after.services.redis));
  const total = after.machine.total - before.machine.total;
  const busy = after.machine.busy - before.machine.busy;
  const accounted = Object.values(used).reduce((a, b) => a + b, 0);
  used['other'] = round2(Math.max(busy / USER_HZ - accounted, 0));
  used['machine_busy_pct'] = total > 0 ? Math.round((busy / total) * 1000) / 10 : 0;
  return used;
}

/** `pid` and every process below it (a clustered API's workers), from /proc children lists. */
export async function processTree(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const children = await Promise.all(
    tasks.map((t) => readFile(`/proc/${pid}/task/${t}/children`, 'utf8').catch(() => '')),
  );
  const direct = children
    .join(' ')
    .split(/\s+/)
    .filter((s) => s !== '')
    .map(Number);
  const below = await Promise.all(direct.map((child) => processTree(child)));
  return [pid, ...below.flat()];
}

/** CPU seconds per process of `pid`'s tree (so workers that start later count from zero). */
export async function treeCpu(pid: number): Promise<CpuSnapshot> {
  const pids = await processTree(pid);
  const entries = await Promise.all(
    pids.map(async (p): Promise<[number, number]> => [p, await readCpuSeconds(p)]),
  );
  return new Map(entries);
}
