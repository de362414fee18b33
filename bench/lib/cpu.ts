import { readdir, readFile } from 'node:fs/promises';

/**
 * CPU time of the processes a run involves, read from /proc (Linux): where the 2 cores went.
 * Taken before and after a run, the difference attributes its cost to each component.
 */
export interface CpuSample {
  [component: string]: number;
}

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
 * CPU seconds so far of: this process, each named child pid, and the Temporal dev server this
 * process started (a descendant; other `temporal` processes on the machine are not ours).
 * Postgres is not in it: its backends serve other clients of the machine too.
 */
export async function sampleCpu(children: Record<string, number>): Promise<CpuSample> {
  const table = await processTable();
  const byPid = new Map(table.map((row) => [row.pid, row]));
  const descendsFromUs = (pid: number): boolean => {
    for (let at = byPid.get(pid), hops = 0; at && hops < 10; at = byPid.get(at.ppid), hops++) if (at.ppid === process.pid) return true;
    return false;
  };
  const sample: CpuSample = { driver: byPid.get(process.pid)?.cpuS ?? 0 };
  for (const [name, pid] of Object.entries(children)) sample[name] = byPid.get(pid)?.cpuS ?? 0;
  sample['temporal'] = table
    .filter((row) => row.comm.startsWith('temporal') && descendsFromUs(row.pid))
    .reduce((sum, row) => sum + row.cpuS, 0);
  return sample;
}

export function cpuDelta(before: CpuSample, after: CpuSample): CpuSample {
  return Object.fromEntries(Object.keys(after).map((key) => [key, Math.round(((after[key] ?? 0) - (before[key] ?? 0)) * 100) / 100]));
}
