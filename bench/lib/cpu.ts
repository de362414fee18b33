import { readdir, readFile } from 'node:fs/promises';

/**
 * CPU time of the processes a run involves, read from /proc (Linux): where the 2 cores went.
 * Taken before and after a run, the difference attributes its cost to each component.
 */
export interface CpuSample {
  /** CPU seconds so far of each component. */
  components: Record<string, number>;
  /** CPU seconds so far of each `postgres` process, by pid: backends come and go with pools. */
  postgres: Map<number, number>;
}

/** CPU seconds each component used between two samples. */
export type CpuUse = Record<string, number>;

const TICKS_PER_SECOND = 100;

async function processTable(): Promise<{ pid: number; ppid: number; comm: string; cpuS: number }[]> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const rows = await Promise.all(
    entries
      .filter((entry) => /^\d+$/.test(entry))
      .map(async (entry) => {
        const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
        const close = stat.lastIndexOf(')');
        if (close < 0) return undefined;
        const comm = stat.slice(stat.indexOf('(') + 1, close);
        const fields = stat.slice(close + 2).split(' ');
        // Fields after comm: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14)
        const cpuS = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
        return { pid: Number(entry), ppid: Number(fields[1]), comm, cpuS };
      }),
  );
  return rows.filter((row): row is NonNullable<typeof row> => row !== undefined);
}

/**
 * CPU seconds so far of: this process, each named child pid, the Temporal dev server this
 * process started (a descendant; other `temporal` processes on the machine are not ours) and
 * the machine's `postgres` processes. Those serve any client of the machine: their figure is
 * the bench's own only while nothing else uses that server.
 */
export async function sampleCpu(children: Record<string, number>): Promise<CpuSample> {
  const table = await processTable();
  const byPid = new Map(table.map((row) => [row.pid, row]));
  const descendsFromUs = (pid: number): boolean => {
    for (let at = byPid.get(pid), hops = 0; at && hops < 10; at = byPid.get(at.ppid), hops++) if (at.ppid === process.pid) return true;
    return false;
  };
  const components: Record<string, number> = { driver: byPid.get(process.pid)?.cpuS ?? 0 };
  for (const [name, pid] of Object.entries(children)) components[name] = byPid.get(pid)?.cpuS ?? 0;
  components['temporal'] = table
    .filter((row) => row.comm.startsWith('temporal') && descendsFromUs(row.pid))
    .reduce((sum, row) => sum + row.cpuS, 0);
  const postgres = new Map(table.filter((row) => row.comm === 'postgres').map((row) => [row.pid, row.cpuS]));
  return { components, postgres };
}

/**
 * What each component used from `before` to `after`. Postgres counts per process: a backend
 * started meanwhile counts from zero, one that ended meanwhile is left out (what it used is
 * gone from /proc), so pools closing never make the figure negative.
 */
export function cpuDelta(before: CpuSample, after: CpuSample): CpuUse {
  const round = (seconds: number) => Math.round(seconds * 100) / 100;
  const use: CpuUse = {};
  for (const [key, seconds] of Object.entries(after.components)) use[key] = round(seconds - (before.components[key] ?? 0));
  let postgres = 0;
  // Clamped: a pid the system gave to a new backend meanwhile would otherwise count below zero.
  for (const [pid, seconds] of after.postgres) postgres += Math.max(0, seconds - (before.postgres.get(pid) ?? 0));
  if (after.postgres.size > 0) use['postgres'] = round(postgres);
  return use;
}
