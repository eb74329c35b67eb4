/**
 * `npm run bench:blocks`: the CPU a block costs one node, in process — propose (execute, state
 * root) and commit (fsync'ed LevelDB batch) on one authority's real store — for the K1 contract
 * workload and for anchors, without a network's noise. `--root DIR` runs the same workload on
 * another checkout of this repository (e.g. `git worktree add /tmp/old <commit>` with its
 * node_modules), so the old code is measured as a same-run baseline; alternate the order.
 *
 *   npm run bench:blocks -- [--contracts 1000] [--anchor-blocks 10] [--root DIR] [--retention R]
 *                          [--admitted] [--creates-only]
 *
 * `--admitted` runs every transaction through what a node does on admission before its block (the
 * stateless checks against the chain's rules, the signature verified into the node's verdict memo,
 * `protocol/verdicts.ts`), outside the timed section: the block then costs what it costs a node
 * whose mempool admitted the transactions — as on the network — instead of one verifying everything.
 *
 * `--creates-only` stops after the `contract.create` phase (for a profile of creation alone).
 *
 * `--retention R` prunes tree versions older than R heights (node/chain/pruning.ts); code from
 * before pruning ignores it.
 *
 * Printed per phase: blocks, state writes (and their values' JSON bytes) and tree records written per block (0 before the tree),
 * and CPU ms per block (this process, all threads, and its main thread alone) for propose + certify
 * + commit. The workload's transactions are signed before each phase starts. Last, the store's size on disk.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    contracts: { type: 'string', default: '1000' },
    'anchor-blocks': { type: 'string', default: '10' },
    root: { type: 'string', default: resolve(import.meta.dirname, '../..') },
    retention: { type: 'string' },
    admitted: { type: 'boolean', default: false },
    'creates-only': { type: 'boolean', default: false },
  },
});
const CONTRACTS = Number(values.contracts);
const ANCHOR_BLOCKS = Number(values['anchor-blocks']);
const root = resolve(values.root as string);

// Loaded from `root`, so that another checkout's code runs the same workload.
// biome-ignore lint/suspicious/noExplicitAny: modules of another checkout have no types here
type Any = any;
const load = (path: string): Promise<Any> => import(join(root, path));
const { Chain } = await load('node/chain/chain.ts');
const { blockHash, commitDigest } = await load('node/protocol/block.ts');
const { Signer, signingMessage } = await load('node/protocol/signature.ts');
const { transactionHash } = await load('node/protocol/transaction.ts');
const { applicationModules } = await load('node/state/application.ts');
const contracts = await load('test/contracts.ts');
const helpers = await load('test/helpers.ts');
const anchorTx = helpers.anchorTx ?? (await load('test/fixtures/node.ts')).anchorTx;

const cast = contracts.castOfCase();
const genesis = contracts.contractsGenesis([cast.authority]);
const dir = mkdtempSync(join(tmpdir(), 'tillid-bench-blocks-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const retention = values.retention === undefined ? {} : { stateRetention: Number(values.retention) };
const verdictsModule = await load('node/protocol/verdicts.ts');
const verdicts = values.admitted ? new verdictsModule.VerifiedSignatures() : undefined;
// The node's memos as node/open.ts passes them (code without the payload memo ignores it).
const checkedPayloads = verdictsModule.CheckedPayloads
  ? { checkedPayloads: new verdictsModule.CheckedPayloads() }
  : {};
const { statelessProblem } = await load('node/state/machine.ts');
const chain = await Chain.open(
  dir,
  genesis,
  applicationModules(genesis),
  verdicts && {
    signatureValid: verdicts.valid,
    cosignatureValid: verdicts.cosignatureValid,
    ...checkedPayloads,
  },
  retention,
);
/** What admission does to each transaction before a block holds it (node/mempool/admission.ts). */
function admit(items: readonly { tx: unknown; hash: string }[], now: number): void {
  if (!verdicts) return;
  for (const item of items) {
    const problem = statelessProblem(item, now, { ...chain.rules, signatureValid: () => true });
    if (problem) throw problem;
    if (!verdicts.valid(item.tx, item.hash)) throw new Error('a workload signature does not verify');
  }
}
const signer = new Signer(cast.authority);

let totals = { blocks: 0, cpuMs: 0, writes: 0, bytes: 0, nodes: 0, mainMs: 0 };
async function block(txs: readonly unknown[]): Promise<void> {
  const items = txs.map((tx) => ({ tx, hash: transactionHash(tx) }));
  admit(items, chain.head.timestamp + 1);
  const before = process.cpuUsage();
  const beforeMain = process.threadCpuUsage();
  const { block, execution } = chain.propose(items, chain.head.timestamp + 1, cast.authority.publicKey);
  const hash = blockHash(block.header);
  const digest = signingMessage('commit', commitDigest(block.header.chainId, block.header.height, 0, hash));
  const certificate = {
    height: block.header.height,
    round: 0,
    blockHash: hash,
    signatures: [{ authority: signer.publicKey, signature: signer.sign(digest) }],
  };
  await chain.commit({ ...block, certificate }, execution);
  const used = process.cpuUsage(before);
  const main = process.threadCpuUsage(beforeMain);
  totals.mainMs += (main.user + main.system) / 1000;
  totals.blocks++;
  totals.cpuMs += (used.user + used.system) / 1000;
  totals.writes += execution.writes.size;
  // What the store holds per value (JSON), outside the timed section.
  for (const value of execution.writes.values()) totals.bytes += JSON.stringify(value).length;
  totals.nodes += (execution.treePages ?? execution.treeNodes)?.size ?? 0;
}
function report(label: string): void {
  const n = totals.blocks;
  console.log(
    `  ${label.padEnd(30)} ${String(n).padStart(3)} blocks  ${(totals.writes / n).toFixed(0).padStart(5)} writes (${(totals.bytes / n / 1000).toFixed(0).padStart(4)} kB)  ${(totals.nodes / n).toFixed(0).padStart(6)} tree records  ${(totals.cpuMs / n).toFixed(1).padStart(7)} CPU ms per block (main thread ${(totals.mainMs / n).toFixed(1)})`,
  );
  lifecycle.cpuMs += totals.cpuMs;
  lifecycle.mainMs += totals.mainMs;
  totals = { blocks: 0, cpuMs: 0, writes: 0, bytes: 0, nodes: 0, mainMs: 0 };
}
/** CPU summed over the contract phases (create, activate, the months decided). */
const lifecycle = { cpuMs: 0, mainMs: 0 };

console.log(
  `bench:blocks — code at ${root}, ${CONTRACTS} K1 contracts, blocks of 500 transactions${values.admitted ? ', transactions admitted first' : ''}${values.retention === undefined ? '' : `, state retention ${values.retention} heights`}`,
);
const b = contracts.txBuilder(genesis.chainId, () => chain.head.timestamp);
const setup: unknown[][] = [];
const collect = (...txs: unknown[]) => {
  setup.push(txs);
  return txs.map(() => ({ code: 'OK' }));
};
const templateId = contracts.setUpCase({ block: collect }, b, cast);
for (const txs of setup) await block(txs);
const inBlocks = async (txs: unknown[]) => {
  for (let i = 0; i < txs.length; i += 500) await block(txs.slice(i, i + 500));
};
const creates = Array.from({ length: CONTRACTS }, () =>
  b.create(cast.caseworker, {
    template: templateId,
    provider: cast.careHomeRep.cvr,
    start: '2026-02-01',
    months: 12,
    reportEveryMonths: 3,
    items: [{ code: 'residential', monthly: 4_500_000 }],
  }),
);
totals = { blocks: 0, cpuMs: 0, writes: 0, bytes: 0, nodes: 0, mainMs: 0 };
await inBlocks(creates);
report('contract.create');
if (values['creates-only']) {
  await chain.close();
  process.exit(0);
}
const motions = creates.map((c: unknown) => b.propose(cast.caseworker, transactionHash(c), 'activate'));
const approvals = motions.map((m: unknown) => b.approve(cast.careHomeRep, transactionHash(m)));
await inBlocks(motions);
await inBlocks(approvals);
report('activation (propose, approve)');
// One business day per block: the months fall due and the chain decides every contract's payments.
while (chain.head.height < 75) await block([]);
report('empty blocks, payments decided');
console.log(
  `  ${'per K1 lifecycle'.padEnd(30)} ${(lifecycle.cpuMs / CONTRACTS).toFixed(3).padStart(7)} CPU ms (main thread ${(lifecycle.mainMs / CONTRACTS).toFixed(3)}): create, activate and every month decided, per contract`,
);
const anchors = Array.from({ length: ANCHOR_BLOCKS }, () =>
  Array.from({ length: 500 }, () =>
    anchorTx(cast.authority, genesis.chainId, { expiresAt: chain.head.timestamp + 600_000 }),
  ),
);
for (const txs of anchors) await block(txs);
report('anchors');
await chain.close();
// What the store holds at the end of the run: tree records stored, and LevelDB's files once
// compacted (before compaction, deletions only add tombstones).
const { ClassicLevel } = await import(join(root, 'node_modules/classic-level/index.js'));
const db = new ClassicLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
await db.open();
let treeRecords = 0;
for await (const key of db.keys())
  if (key[1] === 0x3a && (key[0] === 0x48 || key[0] === 0x50 || key[0] === 0x54 || key[0] === 0x74))
    treeRecords++; // H:, P:, T:, t:
await db.compactRange(Buffer.alloc(0), Buffer.alloc(64, 0xff));
await db.close();
const bytes = readdirSync(dir).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
console.log(
  `  store after ${chain.head.height} blocks: ${treeRecords} tree records, ${(bytes / 1e6).toFixed(1)} MB compacted`,
);
