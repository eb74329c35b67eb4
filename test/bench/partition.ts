/**
 * `npm run bench:partition [-- --runs N --cut-s S]`
 *
 * Four authority containers (test/integration/cluster.ts) split 2|2 the way the container test
 * splits them — `docker network disconnect`, one container at a time, so the split is not clean
 * and the two moved containers come back with new addresses — N times in a row. Reports, per run,
 * the seconds from healing until every node has finalized a new block, then min / median / max.
 * A run that has not recovered after 150 s is reported as such (with the nodes' last log lines)
 * and the benchmark exits non-zero. Also reports, per run, how many times a node found a peer
 * connected but lost by gossip and reconnected it (node/p2p/gossip-watch.ts): the repair of the
 * stall this benchmark used to show.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Cluster } from '../integration/cluster.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    'cut-s': { type: 'string', default: '9' },
    // A run slower than this prints each node's timeline from the cut on (what was slow, and why).
    'explain-s': { type: 'string', default: '15' },
  },
});
const explainS = Number(values['explain-s']);
const runs = Number(values.runs);
const cutMs = Number(values['cut-s']) * 1000;
const GIVE_UP_MS = 150_000;

const c = await Cluster.start({ authorities: 4 });
const ids = c.authorities.map((n) => n.id);
const top = async () => Math.max(...((await c.heights(ids)) as number[]).map((h) => h ?? 0));
const low = async () => Math.min(...((await c.heights(ids)) as number[]).map((h) => h ?? 0));
const recoveries: number[] = [];
const REPAIR = 'connected peer lost by gossip';
const repairs = async () =>
  (await Promise.all(ids.map(async (id) => (await c.logs(id)).split(REPAIR).length - 1))).reduce(
    (a, b) => a + b,
    0,
  );
let repaired = 0;
/** A node's log lines since `from` (epoch ms) about peers, gossip, rounds and sync, one short line each. */
const TIMELINE = /peer|gossip|round change|caught up|sync|equivocation/;
const timeline = async (id: string, from: number, to: number): Promise<string> =>
  (await c.logs(id))
    .split('\n')
    .flatMap((line) => {
      try {
        const { time: iso, msg, level, app: _a, node: _n, component: _c, ...rest } = JSON.parse(line);
        const time = Date.parse(iso);
        if (!(time >= from && time <= to) || !TIMELINE.test(msg)) return [];
        return [
          `  ${((time - from) / 1000).toFixed(1).padStart(6)} s ${level >= 40 ? 'WARN ' : ''}${msg} ${JSON.stringify(rest)}`,
        ];
      } catch {
        return [];
      }
    })
    .slice(0, 60)
    .join('\n');
let failed = 0;
try {
  while ((await low()) < 2) await sleep(500);
  for (let run = 1; run <= runs; run++) {
    const side = ['node-3', 'node-4'];
    const cutAt = Date.now();
    await c.partition(side);
    await sleep(cutMs);
    const stalled = await top();
    const healAt = Date.now();
    await c.heal(side);
    const healed = performance.now();
    let recovered: number | undefined;
    while (performance.now() - healed < GIVE_UP_MS) {
      if ((await low()) > stalled) {
        recovered = (performance.now() - healed) / 1000;
        break;
      }
      await sleep(250);
    }
    if (recovered === undefined) {
      failed++;
      console.log(`run ${run}: NOT recovered after ${GIVE_UP_MS / 1000} s (heights ${await c.heights(ids)})`);
      console.log(`  (cut at 0 s, heal started at ${((healAt - cutAt) / 1000).toFixed(1)} s)`);
      for (const id of ids) console.log(`  --- ${id}\n${await timeline(id, cutAt, Date.now())}`);
      break;
    }
    recoveries.push(recovered);
    const total = await repairs();
    console.log(
      `run ${run}: recovered in ${recovered.toFixed(1)} s (stalled at ${stalled}; ${total - repaired} gossip reconnections)`,
    );
    repaired = total;
    if (recovered > explainS) {
      console.log(`  (cut at 0 s, heal started at ${((healAt - cutAt) / 1000).toFixed(1)} s)`);
      for (const id of ids) console.log(`  --- ${id}\n${await timeline(id, cutAt, Date.now())}`);
    }
    await sleep(3000);
  }
} finally {
  await c.stop();
}
const sorted = [...recoveries].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)];
console.log(
  `recovery after healing a 2|2 split, ${sorted.length} runs: min ${sorted[0]?.toFixed(1)} s, ` +
    `median ${median?.toFixed(1)} s, max ${sorted.at(-1)?.toFixed(1)} s${failed ? `; ${failed} did not recover` : ''}`,
);
if (failed) process.exitCode = 1;
