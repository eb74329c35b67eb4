/**
 * `npm run bench:gateway`: authenticated domain calls through the gateway to a local network of
 * authority processes, against the same workload sent straight to the node API in the same run.
 *
 *   npm run bench:gateway -- [--authorities 4] [--submissions 6000] [--concurrency 128]
 *                            [--rate 100] [--seconds 10] [--anchor-baseline]
 *
 * Setup: `tillid network init` + one `tillid node start` per authority (block interval 100 ms),
 * the token-service emulator in this process, the gateway as its own process
 * (`node gateway/main.ts --config …`, HTTPS), the municipality registered on chain with the
 * gateway's submitter key, and a template. Every call carries a bearer token the emulator issued
 * over mutual TLS, which the gateway verifies (JWKS), then checks the service agreement and the
 * caller's privileges, derives the actor pseudonym, signs `contract.create` and submits it.
 *
 * `--anchor-baseline` first sends --submissions `anchor.record` transactions the same way as phase
 * A0 (same key, node, concurrency and block interval): the nodes' CPU per anchor beside their CPU
 * per `contract.create`, measured alike — what the contract logic costs the nodes — also with the
 * nodes' idle rate (measured for 5 s before) subtracted, which at low rates is most of the figure.
 * Phase A0, the baseline: the same contract.create transactions, signed here with the same key,
 * POSTed straight to node 1 (--concurrency in flight): submissions accepted per second.
 * Phase A, submissions: --submissions calls of POST /v1/contracts (no wait), --concurrency in
 * flight: authenticated submissions accepted per second (202: admitted by a node), then how long
 * the network takes to finalize them all.
 * Phase B, latency to finality at a fixed offered load, open loop, --rate calls/s for --seconds,
 * alternating the two paths call by call (half the calls each, in the same seconds):
 *   direct:  this process signs the same `contract.create` with the same key, POSTs it to the node
 *            and follows finalized blocks (GET /v1/status every 20 ms, then the new blocks) until
 *            the block holding it is final;
 *   gateway: POST /v1/contracts?wait=true; the answer comes when the gateway has verified the
 *            commit certificate of the block holding it and read the transaction's verdict.
 * `--cpu-prof DIR` profiles the gateway process (DIR/gateway) and the nodes (DIR/nodes; written
 * when they stop, with SIGTERM); `node test/bench/profile-top.ts DIR/gateway --inclusive` sums them.
 * Printed: calls/s, p50/p99 for both, and the ratio (target: the gateway adds ≤ 20%). Also CPU
 * time per submission from /proc (utime + stime, all threads) of the gateway process and of the
 * nodes together, in phases A0 and A: on a machine where four nodes share the cores with the
 * gateway and this load generator, wall-clock submissions/s says what this box did; CPU per
 * submission is what compares across runs, and the submissions/s the gateway's own CPU allows
 * (one event loop: one core) is printed as a projection beside the measured figure.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readNodeConfigKey } from '../../node/custody/key-file.ts';
import { type Hex, sha256Hex } from '../../node/protocol/hash.ts';
import { signingMessage } from '../../node/protocol/signature.ts';
import { type Transaction, transactionHash } from '../../node/protocol/transaction.ts';
import { initLocalNetwork, type NodeProcess, startNodeProcess, stopNodeProcess } from '../process.ts';
import { type GatewayRig, startGatewayRig } from './gateway-rig.ts';
import { tempDirPlain, verifyBaseline } from './util.ts';

const { values: v } = parseArgs({
  options: {
    authorities: { type: 'string', default: '4' },
    submissions: { type: 'string', default: '6000' },
    concurrency: { type: 'string', default: '128' },
    rate: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '10' },
    'cpu-prof': { type: 'string' },
    'anchor-baseline': { type: 'boolean', default: false },
  },
});
const AUTHORITIES = Number(v.authorities);
const SUBMISSIONS = Number(v.submissions);
const CONCURRENCY = Number(v.concurrency);
const RATE = Number(v.rate);
const SECONDS = Number(v.seconds);

/** CPU seconds (user + system, all threads) a process has used, from /proc. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted: number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number);
const round = (n: number) => Math.round(n * 10) / 10;

const dir = tempDirPlain('tillid-bench-gateway-');
const nodes: NodeProcess[] = [];
let gateway: GatewayRig | undefined;
const cleanup = async () => {
  await gateway?.stop();
  // SIGTERM when profiling: a node writes its profile as it exits.
  await Promise.all(nodes.map((n) => stopNodeProcess(n, v['cpu-prof'] ? 'SIGTERM' : 'SIGKILL')));
  rmSync(dir, { recursive: true, force: true });
};
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => void cleanup().then(() => process.exit(130)));

async function main() {
  const baseline = verifyBaseline();
  const configs = await initLocalNetwork(join(dir, 'network'), AUTHORITIES, 'tillid-bench-gateway', 11);
  const profDir = v['cpu-prof'] ? resolve(v['cpu-prof']) : undefined;
  if (profDir) {
    mkdirSync(join(profDir, 'nodes'), { recursive: true });
    process.env.NODE_OPTIONS =
      `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${join(profDir, 'nodes')}`.trim();
  }
  for (const config of configs) nodes.push(await startNodeProcess(config));
  if (profDir) delete process.env.NODE_OPTIONS;
  const nodeCpu = () => nodes.reduce((sum, n) => sum + cpuSeconds(n.child.pid), 0);
  const first = nodes[0] as NodeProcess;
  const genesis = JSON.parse(readFileSync(join(dir, 'network', 'genesis.json'), 'utf8'));
  const municipality = genesis.authorities[0].cvr as string;
  const authority = readNodeConfigKey(configs[0] as string);

  const rig = await startGatewayRig({
    dir,
    genesisFile: join(dir, 'network', 'genesis.json'),
    municipalities: genesis.authorities.map((a: { cvr: string }, i: number) => ({
      cvr: a.cvr,
      nodes: [nodes[i]?.url as string],
    })),
    municipality,
    authorityKey: authority,
    nodeArgs: profDir ? ['--cpu-prof', '--cpu-prof-dir', join(profDir, 'gateway')] : [],
    concurrency: CONCURRENCY,
  });
  gateway = rig;
  const { call, contract, keyStore } = rig;
  await rig.defineTemplate();

  const signer = keyStore.signer(municipality);
  const actor = keyStore.pseudonym(municipality, 'bench-direct') as Hex;
  const status = (await (await fetch(`${first.url}/v1/status`)).json()) as { chainId: string };
  const signedCreate = (n: number): Transaction => {
    const { role: _role, ...payload } = contract(n);
    const body = {
      chainId: status.chainId,
      type: 'contract.create',
      payload: { ...payload, as: { party: municipality, role: 'caseworker', actor } },
      signer: signer?.publicKey as Hex,
      nonce: randomUUID(),
      expiresAt: Date.now() + 600_000,
    };
    return { ...body, signature: signer?.sign(signingMessage('tx', transactionHash(body))) as string };
  };
  const waitUntilFinal = async (hash: Hex) => {
    for (;;) {
      const view = (await (await fetch(`${first.url}/v1/transactions/${hash}`)).json()) as { status: string };
      if (view.status !== 'pending') return;
      await sleep(100);
    }
  };

  /** --submissions transactions signed here and POSTed straight to node 1, until all are final. */
  const sendDirect = async (signed: (n: number) => Transaction) => {
    let nextDirect = 0;
    let acceptedDirect = 0;
    let lastDirect: Hex | undefined;
    const nodeCpuBefore = nodeCpu();
    const start = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (nextDirect < SUBMISSIONS) {
          const tx = signed(nextDirect++);
          const r = await fetch(`${first.url}/v1/transactions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(tx),
          });
          const body = (await r.json()) as { hash?: Hex };
          if (r.status === 202) {
            acceptedDirect++;
            lastDirect = body.hash;
          }
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    if (lastDirect) await waitUntilFinal(lastDirect);
    const secondsFinal = (performance.now() - start) / 1000;
    return { accepted: acceptedDirect, seconds, secondsFinal, nodeCpu: nodeCpu() - nodeCpuBefore };
  };
  const signedAnchor = (n: number): Transaction => {
    const body = {
      chainId: status.chainId,
      type: 'anchor.record',
      payload: {
        hash: sha256Hex(new TextEncoder().encode(`bench-anchor-${n}-${randomUUID()}`)),
        docType: 'status-report',
        ref: `urn:bench:anchor-${n}`.replace(/[0-9]/g, (d) => 'abcdefghij'[Number(d)] as string),
      },
      signer: signer?.publicKey as Hex,
      nonce: randomUUID(),
      expiresAt: Date.now() + 600_000,
    };
    return { ...body, signature: signer?.sign(signingMessage('tx', transactionHash(body))) as string };
  };
  // The nodes' idle rate (empty blocks every 100 ms), for the anchor comparison: at a loaded
  // machine's low rates the idle blocks are much of a submission's share of the nodes' CPU.
  const idleAt = performance.now();
  const idleCpu = nodeCpu();
  if (v['anchor-baseline']) await sleep(5000);
  const idleCpuPerSecond = (nodeCpu() - idleCpu) / ((performance.now() - idleAt) / 1000);
  const busyMs = (run: { nodeCpu: number; secondsFinal: number; accepted: number }) =>
    round(((run.nodeCpu - idleCpuPerSecond * run.secondsFinal) * 1000) / run.accepted);
  // The anchors first, when asked: the same path with the cheapest transaction.
  const anchors = v['anchor-baseline'] ? await sendDirect(signedAnchor) : undefined;
  // Phase A0, the baseline: the same submissions signed here and sent straight to node 1.
  const a0 = await sendDirect(signedCreate);
  const acceptedDirect = a0.accepted;
  const secondsA0 = a0.seconds;
  const secondsA0Final = a0.secondsFinal;
  const nodeCpuDirect = a0.nodeCpu;

  // Phase A: authenticated submissions per second through the gateway.
  let next = 0;
  let accepted = 0;
  const refused = new Map<string, number>();
  const hashes: Hex[] = [];
  const cpuBeforeA = cpuSeconds(rig.pid);
  const nodeCpuBeforeA = nodeCpu();
  const selfBeforeA = process.cpuUsage();
  const startA = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < SUBMISSIONS) {
        const n = next++;
        const r = await call('POST', '/v1/contracts', contract(n));
        if (r.status === 202) {
          accepted++;
          hashes.push(r.body.hash as Hex);
        } else refused.set(String(r.body.code), (refused.get(String(r.body.code)) ?? 0) + 1);
      }
    }),
  );
  const secondsA = (performance.now() - startA) / 1000;
  const gatewayCpuA = cpuSeconds(rig.pid) - cpuBeforeA;
  const selfA = process.cpuUsage(selfBeforeA);
  // This load generator's own CPU (HTTPS client, JSON): it shares the cores with the gateway and nodes.
  const loadGenCpuA = (selfA.user + selfA.system) / 1e6;
  const lastHash = hashes[hashes.length - 1] as Hex;
  for (;;) {
    const view = (await (await fetch(`${first.url}/v1/transactions/${lastHash}`)).json()) as {
      status: string;
    };
    if (view.status !== 'pending') break;
    await sleep(100);
  }
  const secondsToFinal = (performance.now() - startA) / 1000;
  const nodeCpuGateway = nodeCpu() - nodeCpuBeforeA;

  // Phase B: one open-loop schedule at --rate, the calls alternating between the two paths, so both
  // see the same network, the same blocks and the same load on this shared machine (run one after
  // the other, the second ran on a longer chain under whatever load the machine had by then).
  //   direct:  sign with the same key, POST to the node, follow finalized blocks until it is in one;
  //   gateway: POST /v1/contracts?wait=true, answered once the gateway verified the block.
  const phaseB = async (): Promise<{ direct: number[]; gateway: number[] }> => {
    const sentAt = new Map<Hex, number>();
    const directLatencies: number[] = [];
    let height = ((await (await fetch(`${first.url}/v1/status`)).json()) as { finalizedHeight: number })
      .finalizedHeight;
    let done = false;
    const follower = (async () => {
      while (!done || sentAt.size > 0) {
        const s = (await (await fetch(`${first.url}/v1/status`)).json()) as { finalizedHeight: number };
        for (; height < s.finalizedHeight; height++) {
          const block = (await (await fetch(`${first.url}/v1/blocks/${height + 1}`)).json()) as {
            transactions: Transaction[];
          };
          const now = performance.now();
          for (const tx of block.transactions) {
            const h = transactionHash(tx);
            const at = sentAt.get(h);
            if (at !== undefined) {
              directLatencies.push(now - at);
              sentAt.delete(h);
            }
          }
        }
        await sleep(20);
      }
    })();
    const interval = 1000 / RATE;
    const start = performance.now();
    const sends: Promise<unknown>[] = [];
    const calls: Promise<number>[] = [];
    for (let n = 0; n < RATE * SECONDS; n++) {
      const due = start + n * interval;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (n % 2 === 0) {
        const tx = signedCreate(SUBMISSIONS + n);
        sentAt.set(transactionHash(tx), performance.now());
        sends.push(
          fetch(`${first.url}/v1/transactions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(tx),
          }),
        );
      } else {
        const t0 = performance.now();
        calls.push(
          call('POST', '/v1/contracts?wait=true', contract(n)).then((r) =>
            r.status === 200 ? performance.now() - t0 : Number.POSITIVE_INFINITY,
          ),
        );
      }
    }
    await Promise.all(sends);
    const gatewayLatencies = await Promise.all(calls);
    done = true;
    const deadline = performance.now() + 30_000;
    while (sentAt.size > 0 && performance.now() < deadline) await sleep(50);
    for (let i = 0; i < sentAt.size; i++) directLatencies.push(Number.POSITIVE_INFINITY);
    sentAt.clear();
    await follower;
    return {
      direct: directLatencies.sort((x, y) => x - y),
      gateway: gatewayLatencies.sort((x, y) => x - y),
    };
  };
  const { direct: directLatencies, gateway: gatewayLatencies } = await phaseB();

  const p = (l: number[], q: number) => round(percentile(l, q));
  // The gateway's own view of the same calls (its audit log): time spent inside the gateway.
  await sleep(500);
  const inside = readFileSync(join(dir, 'audit.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { route: string; status: number; durationMs: number })
    .filter((e) => e.route === '/v1/contracts' && e.status === 200)
    .map((e) => e.durationMs)
    .sort((a, b) => a - b);
  const result = {
    machine: { ed25519VerifyPerSecondOneCore: Math.round(baseline) },
    network: { authorities: AUTHORITIES, blockIntervalMs: 100 },
    submissions: {
      calls: SUBMISSIONS,
      concurrency: CONCURRENCY,
      direct: {
        accepted: acceptedDirect,
        submissionsPerSecond: Math.round(acceptedDirect / secondsA0),
        finalizedPerSecondOverall: Math.round(acceptedDirect / secondsA0Final),
        // Until all were final: the nodes' whole cost of a submission, summed over the nodes.
        nodeCpuMsPerSubmission: round((nodeCpuDirect * 1000) / acceptedDirect),
        ...(anchors ? { nodeCpuMsPerSubmissionIdleSubtracted: busyMs(a0) } : {}),
      },
      ...(anchors
        ? {
            anchorsDirect: {
              accepted: anchors.accepted,
              submissionsPerSecond: Math.round(anchors.accepted / anchors.seconds),
              finalizedPerSecondOverall: Math.round(anchors.accepted / anchors.secondsFinal),
              nodeCpuMsPerSubmission: round((anchors.nodeCpu * 1000) / anchors.accepted),
              nodeCpuMsPerSubmissionIdleSubtracted: busyMs(anchors),
              nodesIdleCpuSecondsPerSecond: Math.round(idleCpuPerSecond * 100) / 100,
            },
          }
        : {}),
      accepted,
      refused: Object.fromEntries(refused),
      authenticatedSubmissionsPerSecond: Math.round(accepted / secondsA),
      // What the gateway itself spends: its capacity where the nodes are not the limit.
      gatewayCpuMsPerSubmission: round((gatewayCpuA * 1000) / accepted),
      gatewaySubmissionsPerCpuSecond: Math.round(accepted / gatewayCpuA),
      nodeCpuMsPerSubmission: round((nodeCpuGateway * 1000) / accepted),
      loadGeneratorCpuMsPerSubmission: round((loadGenCpuA * 1000) / accepted),
      secondsUntilAllFinal: round(secondsToFinal),
      finalizedPerSecondOverall: Math.round(accepted / secondsToFinal),
    },
    latencyToFinality: {
      offeredPerSecond: RATE,
      seconds: SECONDS,
      directMs: { p50: p(directLatencies, 0.5), p99: p(directLatencies, 0.99) },
      gatewayMs: { p50: p(gatewayLatencies, 0.5), p99: p(gatewayLatencies, 0.99) },
      insideGatewayMs: { p50: p(inside, 0.5), p99: p(inside, 0.99) },
      gatewayOverDirect: {
        p50: Math.round((percentile(gatewayLatencies, 0.5) / percentile(directLatencies, 0.5)) * 100) / 100,
        p99: Math.round((percentile(gatewayLatencies, 0.99) / percentile(directLatencies, 0.99)) * 100) / 100,
      },
    },
  };
  console.log(JSON.stringify(result, null, 2));
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
