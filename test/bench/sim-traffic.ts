/**
 * `node test/bench/sim-traffic.ts [seeds]` (default 20): consensus traffic each node sends per
 * height in the simulator's fault scenarios (test/sim/faults.ts: splits, restarts, asynchrony, one
 * down), where stalled heights happen — the cost of a stall's re-send (and, since issue 15, its
 * held-message requests and answers, counted as consensus traffic too). The simulator delivers a
 * broadcast once to each peer: gossipsub's mesh forwarding, which multiplies every re-flooded
 * message in production, is not counted, so a re-send's real cost is higher than printed here.
 * Virtual time; each run is a pure function of its seed, so two trees compare like for like.
 */
import { FAULT_SCENARIOS } from '../sim/faults.ts';
import { simulate } from '../sim/simulator.ts';

const seeds = Number(process.argv[2] ?? 20);
const row = (name: string, messages: number, bytes: number, heights: number) =>
  console.log(
    `${name.padStart(18)}  msgs/height/node ${(messages / heights).toFixed(1).padStart(6)}  KiB/height/node ${(bytes / heights / 1024).toFixed(2).padStart(7)}`,
  );
const all = { messages: 0, bytes: 0, heights: 0 };
for (const build of FAULT_SCENARIOS) {
  const sum = { messages: 0, bytes: 0, heights: 0 };
  let name = '';
  for (let seed = 1; seed <= seeds; seed++) {
    const scenario = build(seed);
    name = scenario.name;
    const result = await simulate(scenario.config);
    for (const node of result.nodes) {
      sum.messages += node.consensus.messages;
      sum.bytes += node.consensus.bytes;
    }
    sum.heights += Math.max(...result.nodes.map((n) => n.height)) * result.nodes.length;
  }
  row(name, sum.messages, sum.bytes, sum.heights);
  all.messages += sum.messages;
  all.bytes += sum.bytes;
  all.heights += sum.heights;
}
row('all', all.messages, all.bytes, all.heights);
