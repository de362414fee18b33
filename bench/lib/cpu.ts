import { readdir, readFile, readlink } from 'node:fs/promises';
import { must } from '../../test/support/must.js';

/**
 * What a run cost each component, from the processes' own accounting in /proc (Linux; the
 * machine's cgroups are not split per component, so process trees it is):
 *
 * - `api`, `worker`: the bench child processes named by pid, with their descendants;
 * - `temporal`: the dev server this process started (a descendant named `temporal…`);
 * - `postgres`: the backends serving this run's connections, found by matching each postgres
 *   process's TCP peer port to a socket the bench's processes hold (the server is shared with
 *   whoever else uses it; its whole tree is kept apart as `postgres_server`);
 * - `load`: this process, the load generator (measured, never in a total).
 *
 * A process's CPU is utime + stime + cutime + cstime: a reaped child's time moves into its
 * parent's c-fields, so summing the live tree counts what ended meanwhile exactly once.
 */
export const COMPONENTS = ['api', 'worker', 'temporal', 'postgres'] as const;
export type Component = (typeof COMPONENTS)[number];

/** CPU ms and peak RSS (MiB) of each component over one measured run. */
export interface Cost {
  cpuMs: Record<string, number>;
  peakRssMiB: Record<string, number>;
}

interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  /** CPU ticks of the process and its reaped children. */
  ticks: number;
  rssPages: number;
}

const TICKS_PER_S = 100;
const PAGE_MiB = 4096 / 2 ** 20;

async function processTable(): Promise<Map<number, Proc>> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const rows = await Promise.all(
    entries
      .filter((entry) => /^\d+$/.test(entry))
      .map(async (entry): Promise<Proc | undefined> => {
        const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
        const close = stat.lastIndexOf(')');
        if (close < 0) return undefined;
        // Fields after comm: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14) … rss(21)
        const fields = stat.slice(close + 2).split(' ');
        const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
        return {
          pid: Number(entry),
          ppid: Number(fields[1]),
          comm: stat.slice(stat.indexOf('(') + 1, close),
          ticks,
          rssPages: Number(fields[21]),
        };
      }),
  );
  return new Map(rows.filter((row): row is Proc => row !== undefined).map((row) => [row.pid, row]));
}

function treeOf(table: Map<number, Proc>, root: number): Proc[] {
  const children = new Map<number, Proc[]>();
  for (const proc of table.values()) children.set(proc.ppid, [...(children.get(proc.ppid) ?? []), proc]);
  const out: Proc[] = [];
  const stack = table.has(root) ? [must(table.get(root), 'the root process')] : [];
  while (stack.length > 0) {
    const proc = must(stack.pop(), 'a process');
    out.push(proc);
    stack.push(...(children.get(proc.pid) ?? []));
  }
  return out;
}

/** TCP ports (local or remote, per `side`) of the sockets each pid holds, from /proc/net/tcp{,6}. */
async function socketInodes(pid: number): Promise<string[]> {
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  const links = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
  return links.flatMap((link) => /^socket:\[(\d+)\]$/.exec(link)?.[1] ?? []);
}

async function tcpTable(): Promise<Map<string, { local: number; remote: number }>> {
  const byInode = new Map<string, { local: number; remote: number }>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const port = (address: string) => parseInt(address.split(':')[1] ?? '0', 16);
      byInode.set(must(cols[9], 'the inode'), {
        local: port(must(cols[1], 'the local address')),
        remote: port(must(cols[2], 'the remote address')),
      });
    }
  }
  return byInode;
}

/** Which processes make up each component right now. */
interface Census {
  pids: Record<string, number[]>;
}

/** The Temporal dev servers this process started (descendants named `temporal…`). */
export async function temporalServers(): Promise<number[]> {
  const table = await processTable();
  return treeOf(table, process.pid)
    .filter((proc) => proc.comm.startsWith('temporal') && !table.get(proc.ppid)?.comm.startsWith('temporal'))
    .map((proc) => proc.pid);
}

/** The processes measured by pid; Temporal, unless named, is the one dev server this process started. */
type Roots = Partial<Record<'api' | 'worker' | 'temporal', number>>;

async function census(roots: Roots, table: Map<number, Proc>): Promise<Census> {
  const pids: Record<string, number[]> = {};
  for (const [name, pid] of Object.entries(roots)) if (pid) pids[name] = treeOf(table, pid).map((proc) => proc.pid);
  const ours = treeOf(table, process.pid);
  if (!roots.temporal) {
    const temporal = ours.find((proc) => proc.comm.startsWith('temporal'));
    pids.temporal = temporal ? treeOf(table, temporal.pid).map((proc) => proc.pid) : [];
  }
  const postmaster = [...table.values()].find((proc) => proc.comm === 'postgres' && table.get(proc.ppid)?.comm !== 'postgres');
  const server = postmaster ? treeOf(table, postmaster.pid) : [];
  pids.postgres_server = server.map((proc) => proc.pid);
  // The bench's backends: a postgres process whose peer port is a local port of one of our sockets.
  const tcp = await tcpTable();
  const ourPorts = new Set<number>();
  for (const proc of ours)
    for (const inode of await socketInodes(proc.pid)) {
      const entry = tcp.get(inode);
      if (entry) ourPorts.add(entry.local);
    }
  const backends: number[] = [];
  for (const proc of server) {
    if (proc === postmaster) continue;
    for (const inode of await socketInodes(proc.pid)) if (ourPorts.has(tcp.get(inode)?.remote ?? -1)) backends.push(proc.pid);
  }
  pids.postgres = [...new Set(backends)];
  return { pids };
}

const rssOf = (table: Map<number, Proc>, pids: readonly number[]) =>
  pids.reduce((sum, pid) => sum + (table.get(pid)?.rssPages ?? 0), 0) * PAGE_MiB;

/**
 * Runs `run` and answers what it cost each component: CPU from a census taken before and
 * after (a process that appears meanwhile counts from zero, one that ends meanwhile is in its
 * parent's c-fields, a postgres backend that ends meanwhile is lost to the server's count), RSS
 * sampled every `sampleMs` (sum over each component's processes, peak kept).
 */
export async function metered<T>(roots: Roots, run: () => Promise<T>, sampleMs = 250): Promise<{ result: T; cost: Cost }> {
  const first = await processTable();
  const before = await census(roots, first);
  const peak: Record<string, number> = {};
  const observe = (table: Map<number, Proc>, who: Census) => {
    for (const [name, pids] of Object.entries(who.pids)) peak[name] = Math.max(peak[name] ?? 0, rssOf(table, pids));
  };
  observe(first, before);
  const loadBefore = process.cpuUsage();
  let sampling = Promise.resolve();
  const timer = setInterval(() => {
    sampling = sampling.then(async () => observe(await processTable(), before));
  }, sampleMs);
  let result: T;
  try {
    result = await run();
  } finally {
    clearInterval(timer);
    await sampling;
  }
  const load = process.cpuUsage(loadBefore);
  const last = await processTable();
  const after = await census(roots, last);
  observe(last, after);
  const cpuMs: Record<string, number> = {};
  for (const name of Object.keys(after.pids)) {
    // Counted per process: one in both censuses by its difference, a new one from zero.
    const known = new Set(before.pids[name] ?? []);
    const ticks = must(after.pids[name], `${name} pids`).reduce((sum, pid) => {
      const now = last.get(pid)?.ticks ?? 0;
      return sum + (known.has(pid) ? Math.max(0, now - (first.get(pid)?.ticks ?? 0)) : now);
    }, 0);
    cpuMs[name] = (ticks * 1000) / TICKS_PER_S;
  }
  cpuMs.load = (load.user + load.system) / 1000;
  return { result, cost: { cpuMs, peakRssMiB: Object.fromEntries(Object.entries(peak).map(([name, mib]) => [name, Math.round(mib)])) } };
}

/** CPU ms per unit of each component, and their total (the load generator and the whole server left out). */
export function perUnit(cost: Cost, units: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, ms] of Object.entries(cost.cpuMs)) out[name] = Math.round((ms / units) * 1000) / 1000;
  out.total = Math.round((COMPONENTS.reduce((sum, name) => sum + (cost.cpuMs[name] ?? 0), 0) / units) * 1000) / 1000;
  return out;
}

/** CPU ms so far of this process's reaped children (what a baseline's command-line tools used). */
export async function reapedChildrenMs(): Promise<number> {
  const stat = await readFile('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / TICKS_PER_S;
}
