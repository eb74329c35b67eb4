/**
 * `npm run bench:node`: sustained finalized tx/s, submission-to-finality latency and RSS for one
 * node over HTTP. The node runs as its own process, started by the real CLI; this process pre-signs
 * the anchors (not timed), submits them over keep-alive HTTP with a fixed concurrency, and watches
 * blocks for finality. As a same-run baseline it measures this machine's single-core Ed25519
 * verification rate, the ceiling STACK.md identifies, and prints throughput as a ratio to it.
 *
 *   npm run bench:node -- [--transactions 30000] [--concurrency 4] [--batch 500]   throughput
 *   npm run bench:node -- --transactions 10000 --rate 1000                        latency at a fixed load
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { transactions } from '../../client/transactions.ts';
import { readNodeConfigKey } from '../../node/custody/key-file.ts';
import { Signer } from '../../node/protocol/signature.ts';
import { type Transaction, transactionHash } from '../../node/protocol/transaction.ts';
import { setPort, startNodeProcess, stopNodeProcess, tillid } from '../process.ts';
import { tempDirPlain, verifyBaseline } from './util.ts';

const { values } = parseArgs({
  options: {
    transactions: { type: 'string', default: '30000' },
    concurrency: { type: 'string', default: '64' },
    batch: { type: 'string', default: '0' },
    rate: { type: 'string', default: '0' },
  },
});
const total = Number(values.transactions);
const concurrency = Number(values.concurrency);
const batch = Number(values.batch);
/** Offered load in tx/s for an open-loop run (latency at a fixed load); 0 = as fast as possible. */
const rate = Number(values.rate);

async function main() {
  const dir = tempDirPlain('tillid-bench-');
  await tillid([
    'network',
    'init',
    '--out',
    dir,
    '--chain-id',
    'tillid-bench',
    '--municipality',
    'Bench Kommune:29189846',
  ]);
  const nodeDir = readdirSync(dir).find((f) => f !== 'genesis.json') as string;
  const config = join(dir, nodeDir, 'config.json');
  setPort(config, 0);
  const parsed = JSON.parse(readFileSync(config, 'utf8'));
  parsed.blockIntervalMs = 250;
  // The production default: no empty blocks while idle (setPort sets the tests' fast pace).
  delete parsed.emptyBlockIntervalMs;
  // One node alone on the machine: two verifier threads use both cores (the default is one).
  parsed.verifyWorkers = 2;
  parsed.mempool = { maxTransactions: 1_000_000, maxBytes: 1024 * 1024 * 1024 };
  writeFileSync(config, JSON.stringify(parsed));
  const key = readNodeConfigKey(join(dir, nodeDir, 'config.json'));
  const signer = new Signer(key);
  const build = transactions('tillid-bench');

  const baseline = verifyBaseline();
  console.log(`baseline: Ed25519 verify (node:crypto, cached key) ${baseline.toFixed(0)} ops/s on one core`);

  const expiresAt = Date.now() + 30 * 60_000;
  const txs: Transaction[] = [];
  for (let i = 0; i < total; i++) {
    txs.push(
      build.anchor(
        signer,
        {
          hash: transactionHash({
            chainId: 'x',
            type: 'a.b',
            payload: { i },
            signer: key.publicKey,
            nonce: 'benchmark',
            expiresAt: i,
          }),
          docType: 'status-report',
          ref: `urn:bench:${i}`,
        },
        { expiresAt },
      ),
    );
  }
  const hashes = txs.map((tx) => transactionHash(tx));
  const node = await startNodeProcess(config);
  const pid = node.child.pid as number;
  const rss = () =>
    Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  await new Promise((r) => setTimeout(r, 500));
  const idleRss = rss();

  const submittedAt = new Float64Array(total);
  const finalizedAt = new Float64Array(total);
  const index = new Map(hashes.map((h, i) => [h, i]));
  let rejected = 0;
  let peakRss = idleRss;

  // Finality watcher: follows blocks as they are finalized.
  let stop = false;
  let finalizedCount = 0;
  const startHeight = ((await (await fetch(`${node.url}/v1/status`)).json()) as { height: number }).height;
  const watcher = (async () => {
    let next = startHeight + 1;
    while (!stop) {
      const response = await fetch(`${node.url}/v1/blocks/${next}`);
      if (response.status === 404) {
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      const block = (await response.json()) as { transactions: Transaction[] };
      const now = performance.now();
      for (const tx of block.transactions) {
        const i = index.get(transactionHash(tx));
        if (i !== undefined && finalizedAt[i] === 0) {
          finalizedAt[i] = now;
          finalizedCount++;
        }
      }
      next++;
      peakRss = Math.max(peakRss, rss());
    }
  })();

  // Request bodies are serialised before the clock starts, so the load generator spends its CPU
  // on HTTP only and leaves as much of the machine as possible to the node.
  const perRequest = batch > 0 ? batch : 1;
  const requests: { first: number; count: number; body: string }[] = [];
  for (let i = 0; i < total; i += perRequest) {
    const slice = txs.slice(i, i + perRequest);
    requests.push({
      first: i,
      count: slice.length,
      body: JSON.stringify(batch > 0 ? { transactions: slice } : slice[0]),
    });
  }
  const path = batch > 0 ? '/v1/transactions/batch' : '/v1/transactions';
  let cursor = 0;
  const started = performance.now();
  async function worker() {
    while (cursor < requests.length) {
      const request = requests[cursor++] as (typeof requests)[number];
      const sentAt = performance.now();
      submittedAt.fill(sentAt, request.first, request.first + request.count);
      const response = await fetch(`${node.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: request.body,
      });
      const body = (await response.json()) as { results?: { code?: string }[] };
      if (batch > 0) rejected += body.results?.filter((r) => r.code).length ?? request.count;
      else if (response.status !== 202) rejected++;
    }
  }
  // Open loop: requests leave on a fixed schedule whether or not earlier ones have returned, so
  // latency is measured at the offered load rather than at whatever the node sustains.
  async function openLoop() {
    const inFlight: Promise<void>[] = [];
    for (let sent = 0; sent < requests.length; ) {
      const due = Math.min(
        requests.length,
        Math.floor(((performance.now() - started) / 1000) * (rate / perRequest)) + 1,
      );
      for (; sent < due; sent++) {
        const request = requests[sent] as (typeof requests)[number];
        submittedAt.fill(performance.now(), request.first, request.first + request.count);
        inFlight.push(
          fetch(`${node.url}${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: request.body,
          }).then(async (response) => {
            await response.arrayBuffer();
            if (response.status !== 202 && response.status !== 200) rejected += request.count;
          }),
        );
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    await Promise.all(inFlight);
  }
  if (rate > 0) await openLoop();
  else await Promise.all(Array.from({ length: concurrency }, worker));
  const submitDone = performance.now();
  while (finalizedCount < total - rejected && performance.now() - submitDone < 60_000) {
    await new Promise((r) => setTimeout(r, 20));
  }
  stop = true;
  await watcher;
  const lastFinal = Math.max(...finalizedAt);
  const latencies: number[] = [];
  for (let i = 0; i < total; i++) {
    const at = finalizedAt[i] as number;
    if (at > 0) latencies.push(at - (submittedAt[i] as number));
  }
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  const seconds = (lastFinal - started) / 1000;
  const tps = finalizedCount / seconds;
  await stopNodeProcess(node);

  console.log(
    `mode: ${batch > 0 ? `batch of ${batch}` : 'one transaction per request'}, ${rate > 0 ? `offered load ${rate} tx/s (open loop)` : `concurrency ${concurrency}`}`,
  );
  console.log(`transactions: ${total} submitted, ${finalizedCount} finalized, ${rejected} rejected`);
  console.log(
    `sustained finalized throughput: ${tps.toFixed(0)} tx/s over ${seconds.toFixed(1)} s (${(tps / baseline).toFixed(2)}x single-core verify rate)`,
  );
  console.log(`submission-to-finality latency: p50 ${pct(50).toFixed(0)} ms, p99 ${pct(99).toFixed(0)} ms`);
  console.log(`node RSS: idle ${idleRss.toFixed(0)} MB, peak ${peakRss.toFixed(0)} MB`);
}

await main();
