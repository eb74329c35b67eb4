/**
 * Where the CPU went, summed over every V8 .cpuprofile in a directory (as `--cpu-prof DIR` of
 * bench:wan or bench:network leaves them, one per node): self time per function and per source
 * file, the largest first, as a share of all sampled time. Idle (the event loop waiting) and
 * program/GC pseudo-frames are listed as such, so "busy" excludes waiting.
 *
 *   node test/bench/profile-top.ts DIR [--top 25] [--threads all|main|workers] [--inclusive]
 *                                  [--under FUNCTION]
 *
 * `--threads main` keeps the main threads' profiles only (V8 names them CPU.<…>.<pid>.0.<n>), `workers`
 * the others (signature verification). `--inclusive` adds time by function counting everything
 * called beneath it — the view that says which operation (admission, block execution, the commit,
 * an HTTP route) the self time belongs to. `--under FUNCTION` keeps only the samples with a
 * function of that name on their stack (e.g. `executeBlock`): the shares are then of its time.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  options: {
    top: { type: 'string', default: '25' },
    threads: { type: 'string', default: 'all' },
    inclusive: { type: 'boolean', default: false },
    under: { type: 'string' },
  },
  allowPositionals: true,
});
const dir = positionals[0];
if (!dir) throw new Error('usage: node test/bench/profile-top.ts DIR [--top 25]');
const files: string[] = [];
const walk = (d: string) => {
  for (const name of readdirSync(d)) {
    const path = join(d, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.cpuprofile')) files.push(path);
  }
};
walk(dir);
/** V8 writes CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; the main thread is 0. */
const isMain = (path: string) => /\.\d+\.0\.\d+\.cpuprofile$/.test(path);
if (values.threads !== 'all') {
  const keep = files.filter((f) => isMain(f) === (values.threads === 'main'));
  files.splice(0, files.length, ...keep);
}

const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
let idle = 0;
const short = (url: string) =>
  url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, 'node_modules/')
    .replace(/^.*\/wt\/[^/]+\//, '');
for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const nameOf = (f: ProfileNode['callFrame']) =>
    `${f.functionName || '(anonymous)'} ${f.url ? short(f.url) : f.functionName}:${f.lineNumber + 1}`;
  profile.samples.forEach((id, k) => {
    const us = profile.timeDeltas[k] ?? 0;
    const f = frames.get(id);
    if (!f) return;
    if (values.under !== undefined) {
      let under = false;
      for (let at: number | undefined = id; at !== undefined && !under; at = parent.get(at))
        under = frames.get(at)?.functionName === values.under;
      if (!under) return;
    }
    total += us;
    if (f.functionName === '(idle)') {
      idle += us;
      return;
    }
    const where = f.url ? short(f.url) : f.functionName;
    const fn = nameOf(f);
    if (values.inclusive) {
      // Each function on the sample's stack once (recursion counted once).
      const seen = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const frame = frames.get(at);
        if (frame) seen.add(nameOf(frame));
      }
      for (const name of seen) inclusive.set(name, (inclusive.get(name) ?? 0) + us);
    }
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    const pkg = where.startsWith('node_modules/')
      ? where
          .split('/')
          .slice(0, where.startsWith('node_modules/@') ? 3 : 2)
          .join('/')
      : where;
    byFile.set(pkg, (byFile.get(pkg) ?? 0) + us);
  });
}
const busy = total - idle;
const top = Number(values.top);
const print = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [name, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(
      `${((100 * us) / busy).toFixed(1).padStart(6)} %  ${(us / 1e6).toFixed(1).padStart(7)} s  ${name}`,
    );
};
console.log(
  `${files.length} profiles${values.under === undefined ? '' : `, samples under ${values.under} only`}, ${(total / 1e6).toFixed(0)} s sampled, ${(busy / 1e6).toFixed(0)} s busy (${((100 * busy) / total).toFixed(0)} %); shares below are of busy time`,
);
print('self time by file or package', byFile);
print('self time by function', byFunction);
if (values.inclusive) print('inclusive time by function (it and everything it called)', inclusive);
