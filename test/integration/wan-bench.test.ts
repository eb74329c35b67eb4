/**
 * The plumbing of `npm run bench:wan` (test/bench/wan-run.ts) at its smallest: four authorities,
 * each a node process in its own network namespace, configured by `network init --member`, reach
 * each other only through the delaying relay, and the transactions the bench submits finalize on
 * all of them. What the bench reads per node from /proc (CPU, bytes through the host's own
 * interface) is non-zero for every host, and nothing it made is left behind. Root only, as
 * wan-hosts.test.ts. Asserts what happened, never how fast.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { runScenario } from '../bench/wan-run.ts';
import type { WanHosts } from '../fixtures/wan-hosts.ts';

const namespaces = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });

test('bench:wan plumbing: four hosts over the relay finalize the submitted transactions', async () => {
  let made: WanHosts | undefined;
  let seen: string[] = [];
  const result = await runScenario({
    n: 4,
    delayMs: 5,
    jitterMs: 10,
    rate: 10,
    municipalSeconds: 2,
    saturationSeconds: 2,
    batch: 50,
    maxPending: 200,
    log: () => {},
    onHosts: (wan) => {
      if (wan) {
        made = wan;
        seen = wan.hosts.map((h) => h.ns);
      }
    },
  });
  assert.ok(made, 'the hosts were made');
  assert.equal(seen.length, 4);
  for (const phase of [result.municipal, result.saturation]) {
    assert.ok(phase.accepted > 0, 'the nodes accepted transactions');
    assert.equal(phase.notFinal, 0, 'every accepted transaction finalized');
    assert.ok(phase.blocks > 0);
    // Each host's own interface carried traffic (its only way out is the relay), and each node worked.
    for (let i = 0; i < 4; i++)
      assert.ok((phase.cost.bytes[i] as number) > 0, `host ${i + 1} sent and received bytes`);
    assert.ok(phase.cost.cpu.reduce((a, b) => a + b, 0) > 0, 'the node processes used CPU');
  }
  assert.ok(result.peakRss.every((mb) => mb > 0));
  // Nothing left: the scenario's namespaces are gone once it returns.
  const left = namespaces();
  for (const ns of seen) assert.ok(!left.includes(ns), `${ns} was removed`);
});
