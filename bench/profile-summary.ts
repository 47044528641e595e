/**
 * Summarizes V8 CPU profiles (`node --cpu-prof`, as written by `npm run bench -- --profile`):
 * self time by area (project file, package, Node internals, GC, idle), the hottest functions,
 * and total (inclusive) time of the project's own functions.
 *
 *   node --import tsx bench/profile-summary.ts <profile-dir-or-file> [--top 25] [--callers NAME]
 *
 * `--callers NAME` adds the stacks (innermost first, up to 6 frames) through which the functions
 * named NAME spend their self time, heaviest first.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { numberFlag, parseFlags } from './common.ts';

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
  samples: number[];
  timeDeltas: number[];
}

const [target, ...rest] = process.argv.slice(2);
if (!target) throw new Error('usage: profile-summary.ts <profile-dir-or-file> [--top N]');
const flags = parseFlags(rest);
const top = Math.floor(numberFlag(flags, 'top', 25));
const callersOf = flags.get('callers');
const root = process.cwd();

const files = statSync(target).isDirectory()
  ? readdirSync(target)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(target, f))
  : [target];

function area(url: string, name: string): string {
  if (url === '') return name.startsWith('(') ? name : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const path = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url;
  const nm = path.lastIndexOf('/node_modules/');
  if (nm !== -1) {
    const parts = path.slice(nm + 14).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? path);
  }
  return relative(root, path);
}

const pct = (n: number, total: number) => `${((100 * n) / total).toFixed(1).padStart(5)}%`;
const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) =>
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)),
  );
  const total = profile.endTime - profile.startTime;
  if (profile.samples.length < 10) continue;

  const byArea = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const node of profile.nodes) {
    const t = self.get(node.id) ?? 0;
    if (t === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const a = area(url, functionName);
    byArea.set(a, (byArea.get(a) ?? 0) + t);
    const key = `${functionName || '(anonymous)'}  ${a}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + t);
  }

  // Inclusive time of the project's functions (each counted once per stack).
  const inclusive = new Map<string, number>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  for (const [id, t] of self) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur);
      if (!node) break;
      const { functionName, url, lineNumber } = node.callFrame;
      // The project's code, from source (tsx) or compiled (dist/, as `npm start` runs it).
      if (!/\/(src|dist)\//.test(url) || url.includes('/node_modules/')) continue;
      const key = `${functionName || '(anonymous)'}  ${area(url, functionName)}:${lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + t);
    }
  }

  const busy = total - (byArea.get('(idle)') ?? 0);
  console.log(
    `\n${relative(root, file)}: ${ms(total).trim()} profiled, ${ms(busy).trim()} not idle`,
  );
  const sorted = (m: Map<string, number>, n: number) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, n);
  console.log('\nSelf time by area (share of non-idle time):');
  for (const [name, t] of sorted(byArea, 30))
    if (name !== '(idle)') console.log(`  ${ms(t)} ${pct(t, busy)}  ${name}`);
  console.log(`\nTop ${top} functions by self time:`);
  for (const [name, t] of sorted(byFunction, top + 1))
    if (!name.startsWith('(idle)')) console.log(`  ${ms(t)} ${pct(t, busy)}  ${name}`);
  console.log(`\nProject functions by total (inclusive) time:`);
  for (const [name, t] of sorted(inclusive, top))
    console.log(`  ${ms(t)} ${pct(t, busy)}  ${name}`);

  if (callersOf === undefined) continue;
  const stacks = new Map<string, number>();
  for (const [id, t] of self) {
    if (byId.get(id)?.callFrame.functionName !== callersOf) continue;
    const frames: string[] = [];
    for (let cur = parent.get(id); cur !== undefined && frames.length < 6; cur = parent.get(cur)) {
      const node = byId.get(cur);
      if (!node) break;
      const { functionName, url, lineNumber } = node.callFrame;
      frames.push(`${functionName || '(anonymous)'} ${area(url, functionName)}:${lineNumber + 1}`);
    }
    const key = frames.join(' < ');
    stacks.set(key, (stacks.get(key) ?? 0) + t);
  }
  console.log(`\nWhere ${callersOf} is called from (self time):`);
  for (const [stack, t] of sorted(stacks, top)) console.log(`  ${ms(t)} ${pct(t, busy)}  ${stack}`);
}
