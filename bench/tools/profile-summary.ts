import { readFile } from 'node:fs/promises';
import { must } from '../../test/support/must.js';

/**
 * Summarizes a V8 .cpuprofile (from `BENCH_PROFILE_DIR=dir npm run bench`, which runs the bench
 * processes under `node --cpu-prof`): self time by package and by function.
 *
 *   npx tsx bench/tools/profile-summary.ts <dir>/intake-api/CPU.*.cpuprofile [top] [--callers=<function regex>] [--within=<function regex>]
 *
 * `--callers` adds, for functions whose name matches, their self time by calling stack (4 frames).
 * `--within` adds the share of the thread's busy time spent inside functions whose "name
 * package" matches, callees included (a module's evaluation, a hook), each sample counted once.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

const args = process.argv.slice(2);
const option = (name: string) => args.find((arg) => arg.startsWith(`--${name}=`))?.slice(`--${name}=`.length);
const callersOf = option('callers');
const within = option('within');
const [file, topArg] = args.filter((arg) => !arg.startsWith('--'));
if (!file) throw new Error('usage: profile-summary <file.cpuprofile> [top] [--callers=<function regex>]');
const top = Number(topArg ?? 30);
const depth = Number(option('depth') ?? 5);
const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;

// Self time per node from the sample timeline (more exact than hitCount × interval).
const selfUs = new Map<number, number>();
const samples = profile.samples ?? [];
const deltas = profile.timeDeltas ?? [];
for (let i = 0; i < samples.length; i++)
  selfUs.set(must(samples[i], 'a sample'), (selfUs.get(must(samples[i], 'a sample')) ?? 0) + (deltas[i + 1] ?? deltas[i] ?? 0));

const packageOf = (url: string): string => {
  if (!url) return '(native/vm)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    const first = must(rest[0], 'a path segment');
    return first.startsWith('@') ? `${first}/${rest[1]}` : first;
  }
  if (url.startsWith('node:')) return url;
  const src = url.indexOf('/src/');
  if (src >= 0) return `printready ${url.slice(src + 1)}`;
  const bench = url.indexOf('/bench/');
  if (bench >= 0) return `bench ${url.slice(bench + 1)}`;
  return url;
};

const byPackage = new Map<string, number>();
const byFunction = new Map<string, number>();
let total = 0;
for (const node of profile.nodes) {
  const us = selfUs.get(node.id) ?? 0;
  if (us === 0) continue;
  total += us;
  const { functionName, url, lineNumber } = node.callFrame;
  const pkg = packageOf(url);
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  const key = `${functionName || '(anonymous)'} ${pkg}:${lineNumber + 1}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + us);
}

const print = (title: string, map: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${key}`);
  }
};
console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled over ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s`);
print('self time by package', byPackage);
print('self time by function', byFunction);

const parent = new Map<number, ProfileNode>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node);

if (callersOf) {
  const pattern = new RegExp(callersOf);
  const byStack = new Map<string, number>();
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0 || !pattern.test(node.callFrame.functionName)) continue;
    const frames: string[] = [];
    for (let at: ProfileNode | undefined = node; at && frames.length < depth; at = parent.get(at.id)) {
      frames.push(`${at.callFrame.functionName || '(anonymous)'}@${packageOf(at.callFrame.url)}:${at.callFrame.lineNumber + 1}`);
    }
    const key = frames.join(' < ');
    byStack.set(key, (byStack.get(key) ?? 0) + us);
  }
  print(`callers of /${callersOf}/`, byStack);
}

if (within) {
  const pattern = new RegExp(within);
  let busy = 0;
  let inside = 0;
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0 || node.callFrame.functionName === '(idle)') continue;
    busy += us;
    for (let at: ProfileNode | undefined = node; at; at = parent.get(at.id)) {
      if (pattern.test(`${at.callFrame.functionName} ${packageOf(at.callFrame.url)}`)) {
        inside += us;
        break;
      }
    }
  }
  console.log(
    `\nwithin /${within}/: ${(inside / 1000).toFixed(0)} ms of ${(busy / 1000).toFixed(0)} ms busy (${((inside / busy) * 100).toFixed(1)}%)`,
  );
}
