/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. BENCH_CPU_PROF_DIR=…): the functions with the
 * most self time, self time by source area (gateway/, aedes, mqtt-packet, better-sqlite3, node internals,
 * GC, idle), and the inclusive time of the gateway's own hot spots. Usage:
 *   npx tsx bench/profile-top.ts FILE.cpuprofile [topN]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: profile-top.ts FILE.cpuprofile [topN]\n');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => {
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const sampledUs = profile.timeDeltas.reduce((a, b) => a + b, 0);
// Percentages are of the busy time: a server idles between load rounds, which says nothing about its costs.
let idleUs = 0;
for (const [id, us] of selfUs) if (byId.get(id)?.callFrame.functionName === '(idle)') idleUs += us;
const totalUs = sampledUs - idleUs;

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const repo = url.indexOf('/main/');
  return repo >= 0 ? url.slice(repo + '/main/'.length) : url;
}

function area(n: ProfileNode): string {
  const { functionName, url } = n.callFrame;
  if (functionName === '(idle)') return '(idle)';
  if (functionName === '(garbage collector)') return '(gc)';
  if (functionName === '(program)') return '(program)';
  if (url.includes('better-sqlite3')) return 'better-sqlite3';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return 'node internals';
  if (url === '') return `(native) ${functionName || '(anonymous)'}`;
  return shortUrl(url).split('/').slice(0, 2).join('/');
}

const pct = (us: number) => `${((100 * us) / totalUs).toFixed(1)}%`;
const line = (label: string, us: number) =>
  process.stdout.write(`${pct(us).padStart(6)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${label}\n`);

process.stdout.write(
  `${file}: ${(sampledUs / 1e6).toFixed(1)} s sampled, ${(totalUs / 1e6).toFixed(1)} s busy (percentages are of busy time)\n\nself time by function:\n`,
);
const byFunction = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  if (n.callFrame.functionName === '(idle)') continue;
  const key = `${n.callFrame.functionName || '(anonymous)'}  ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + us);
}
for (const [k, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) line(k, us);

process.stdout.write('\nself time by area:\n');
const byArea = new Map<string, number>();
for (const [id, us] of selfUs) {
  const a = area(byId.get(id)!);
  if (a === '(idle)') continue;
  byArea.set(a, (byArea.get(a) ?? 0) + us);
}
for (const [k, us] of [...byArea].sort((a, b) => b[1] - a[1]).slice(0, top)) line(k, us);

// Inclusive time: a sample counts once for every distinct function on its stack.
process.stdout.write('\ninclusive time (functions of this repo, and native calls from it):\n');
const inclusive = new Map<string, number>();
profile.samples.forEach((leaf, i) => {
  const seen = new Set<string>();
  for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
    const n = byId.get(id)!;
    const url = n.callFrame.url;
    if (url.includes('node_modules') || url.startsWith('node:')) continue;
    if (url === '' && !['run', 'transaction', 'prepare'].includes(n.callFrame.functionName)) continue;
    const key = `${n.callFrame.functionName || '(anonymous)'}  ${shortUrl(url) || '(native)'}${url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
});
for (const [k, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) line(k, us);
