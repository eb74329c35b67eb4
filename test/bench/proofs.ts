/**
 * `npm run bench:proofs`: what proven reads cost. A single-authority chain on a real LevelDB store
 * holds --anchors anchors (the tree's size) and --contracts K1 placement contracts whose first
 * month is decided in one block (and 10 more, starting later, for a second provider); then, for a
 * contract read, a party's list views (contracts, reports, payments seen; 10 and --contracts
 * contracts) and a page of 100 events: proof size in bytes (the JSON a node sends), build time at
 * the node, and verification rate (proofs/s, the gateway's or an auditor's cost), and what a proof adds to the read's latency
 * through a gateway without the network: the node's build and serialization, the gateway's parse
 * and verification, beside the plain read's evaluation. Same-run baseline: this machine's
 * single-core Ed25519 verify rate (a proof check includes one certificate signature per authority).
 *
 * Also the cost of the tree itself: the state root of one block of 2,000 anchors (4,000 writes) over
 * that store's state, as the tree computes it and as the chained hash of sorted writes it replaced
 * did (computed here as the same-run baseline).
 *
 *   npm run bench:proofs -- [--anchors 50000] [--contracts 100] [--seconds 2]
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Chain } from '../../node/chain/chain.ts';
import { proveRead } from '../../node/chain/prove.ts';
import type { Json } from '../../node/protocol/canonical.ts';
import { canonicalHash, type Hex, sha256Hex } from '../../node/protocol/hash.ts';
import { Signer } from '../../node/protocol/signature.ts';
import { type Transaction, transactionHash } from '../../node/protocol/transaction.ts';
import { applicationModules } from '../../node/state/application.ts';
import { type ProvenRead, verifyProvenRead } from '../../node/state/commitment/proven-read.ts';
import { evaluateRead, type ReadSpec } from '../../node/state/commitment/reads.ts';
import { updateTree } from '../../node/state/commitment/tree.ts';
import { castOfCase, contractsGenesis, MUNICIPALITY_CVR, setUpCase, txBuilder } from '../contracts.ts';
import { commitBlock } from '../fixtures/commit.ts';
import { anchorTx } from '../helpers.ts';
import { tempDirPlain, verifyBaseline } from './util.ts';

const { values } = parseArgs({
  options: {
    anchors: { type: 'string', default: '50000' },
    contracts: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '2' },
  },
});
const ANCHORS = Number(values.anchors);
const CONTRACTS = Number(values.contracts);
const SECONDS = Number(values.seconds);

const cast = castOfCase();
const genesis = contractsGenesis([cast.authority]);
const dir = tempDirPlain('tillid-bench-proofs-');
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const chain = await Chain.open(dir, genesis, applicationModules(genesis));
const signer = new Signer(cast.authority);

async function block(txs: readonly Transaction[]): Promise<void> {
  await commitBlock(chain, cast.authority.publicKey, txs, () => [signer]);
}

const b = txBuilder(genesis.chainId, () => chain.head.timestamp);
const setup: Transaction[][] = [];
const collect = (...txs: Transaction[]) => {
  setup.push(txs);
  return txs.map(() => ({ code: 'OK' }));
};
const templateId = setUpCase({ block: collect } as never, b, cast);
for (const txs of setup) await block(txs);
for (let i = 0; i < ANCHORS; i += 1000)
  await block(
    Array.from({ length: Math.min(1000, ANCHORS - i) }, () =>
      anchorTx(cast.authority, genesis.chainId, { expiresAt: chain.head.timestamp + 60_000 }),
    ),
  );
// The care home has CONTRACTS contracts, the consultant 10: the list views of both are measured.
// The consultant's start in April, so the month of payments and the event page below stay the
// care home's CONTRACTS decisions (its payments read still proves that whole month).
const contractsFor = (rep: typeof cast.careHomeRep, n: number, start: string) =>
  Array.from({ length: n }, () =>
    b.create(cast.caseworker, {
      template: templateId,
      provider: rep.cvr,
      start,
      months: 12,
      reportEveryMonths: 3,
      items: [{ code: 'residential', monthly: 4_500_000 }],
    } as never),
  );
const creates = contractsFor(cast.careHomeRep, CONTRACTS, '2026-02-01');
const fewer = contractsFor(cast.consultantRep, 10, '2026-04-01');
await block(creates);
await block(fewer); // a block of its own: the event page below is the CONTRACTS creations
const motions = creates.map((c) => b.propose(cast.caseworker, transactionHash(c), 'activate'));
const fewerMotions = fewer.map((c) => b.propose(cast.caseworker, transactionHash(c), 'activate'));
await block([...motions, ...fewerMotions]);
await block([
  ...motions.map((m) => b.approve(cast.careHomeRep, transactionHash(m))),
  ...fewerMotions.map((m) => b.approve(cast.consultantRep, transactionHash(m))),
]);
// Business day = origin + height: run past 1 March, when every contract's February is decided.
while (chain.head.height < 62) await block([]);

/** Best time of `f` over a few runs, in ms. */
function best(f: () => unknown, runs = 5): number {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    f();
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

function measure(label: string, proven: ProvenRead, buildMs: number, spec: ReadSpec): void {
  const verdict = verifyProvenRead(genesis, proven);
  if (!verdict.ok) throw new Error(`${label}: ${verdict.reason}`);
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < SECONDS * 1000) {
    verifyProvenRead(genesis, proven);
    n++;
  }
  const rate = n / ((performance.now() - start) / 1000);
  const text = JSON.stringify(proven);
  // What a proven read adds to a plain one on its way through a gateway, without the network:
  // the node builds the proof and serializes it, the gateway parses and verifies it.
  const plainMs = best(() =>
    JSON.stringify(
      evaluateRead(spec, chain.rules.committedState as never, {
        genesis,
        height: chain.head.height,
        timestamp: chain.head.timestamp,
      }),
    ),
  );
  const addedMs = buildMs + best(() => JSON.stringify(proven)) + best(() => JSON.parse(text)) + 1000 / rate;
  console.log(
    `${label.padEnd(30)} ${String(text.length).padStart(8)} bytes  ${String(proven.entries.length).padStart(4)} keys  build ${buildMs.toFixed(2).padStart(6)} ms  verify ${rate.toFixed(0).padStart(5)} proofs/s  plain read ${plainMs.toFixed(2).padStart(5)} ms, proof adds ${addedMs.toFixed(1).padStart(5)} ms`,
  );
}

async function timed(spec: ReadSpec): Promise<[ProvenRead, number, ReadSpec]> {
  await proveRead(chain, spec); // warm: the figure is a read on a running node
  let min = Number.POSITIVE_INFINITY;
  let proven: ProvenRead | undefined;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    proven = await proveRead(chain, spec);
    min = Math.min(min, performance.now() - t0);
  }
  return [proven as ProvenRead, min, spec];
}

const baseline = verifyBaseline();
console.log(`state: ${ANCHORS} anchors + ${CONTRACTS} contracts, head ${chain.head.height}`);
console.log(`baseline: Ed25519 verify ${baseline.toFixed(0)}/s on one core (same run)`);
const contractId = transactionHash(creates[0] as Transaction) as Hex;
measure('contract read', ...(await timed({ kind: 'contract', id: contractId })));
measure(
  'payments of a month',
  ...(await timed({ kind: 'payments', municipality: MUNICIPALITY_CVR, month: '2026-03' })),
);
// The list views of one party: a provider with 10 and with CONTRACTS contracts.
for (const [rep, n] of [
  [cast.consultantRep, 10],
  [cast.careHomeRep, CONTRACTS],
] as const) {
  measure(`contracts of a party (${n})`, ...(await timed({ kind: 'contracts', party: rep.cvr })));
  measure(`reports of a party (${n})`, ...(await timed({ kind: 'reports', party: rep.cvr })));
  measure(
    `provider payments (${n})`,
    ...(await timed({ kind: 'partyPayments', party: rep.cvr, month: '2026-03' })),
  );
}
// The block where every February was decided holds CONTRACTS payment events: a page of them.
let decidedAt = 1;
while (
  decidedAt < chain.head.height &&
  ((chain.readState(`event/${decidedAt}`) as number | undefined) ?? 0) < CONTRACTS
)
  decidedAt++;
const page = await timed({ kind: 'events', after: decidedAt - 1, limit: 100 });
const events = (page[0].value as { events: unknown[] }).events.length;
measure(`page of ${events} events`, ...page);
// The tree's cost per block, against the chained hash it replaced (sha256(previous || hash of the
// sorted writes)), on one block of 2,000 anchors and their receipts over this store.
const writes = new Map<string, Json>();
for (let j = 0; j < 2000; j++) {
  const hash = randomBytes(32).toString('hex');
  writes.set(`anchor/${hash}`, { docType: 'status-report', ref: 'urn:bench', height: 9, txHash: hash });
  writes.set(`tx/${randomBytes(32).toString('hex')}`, { height: 9, index: j, code: 'OK' });
}
const reader = { treePage: (h: Hex) => chain.treePage(h), treeRoot: (r: Hex) => chain.treeRoot(r) };
let chained = Number.POSITIVE_INFINITY;
let tree = Number.POSITIVE_INFINITY;
for (let round = 0; round < 5; round++) {
  let t0 = performance.now();
  const sorted = [...writes.entries()].sort(([x], [y]) => (x < y ? -1 : 1));
  sha256Hex(`${chain.head.stateRoot}${canonicalHash(sorted)}`);
  chained = Math.min(chained, performance.now() - t0);
  t0 = performance.now();
  updateTree(reader, chain.head.stateRoot, writes);
  tree = Math.min(tree, performance.now() - t0);
}
console.log(
  `state root of a block of 4000 writes: tree ${tree.toFixed(1)} ms, chained hash (old) ${chained.toFixed(1)} ms (best of 5)`,
);
await chain.close();
