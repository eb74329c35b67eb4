/**
 * A key rotation at the chain's boundary height, on a real Chain: the block before the effective
 * height is finalized by the old key, the block at it only with the new one; `chain verify`
 * follows the schedule (and refuses a chain whose boundary block the old key certified); the old
 * key's consensus messages are refused from the effective height; the connection gater admits the
 * new key once the rotation is decided and drops the old one once it is in force; and peers are
 * dialled at their on-chain addresses.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { transactions } from '../../../client/transactions.ts';
import { Chain } from '../../../node/chain/chain.ts';
import { MemoryChainStore } from '../../../node/chain/store.ts';
import { verifyChain } from '../../../node/chain/verify.ts';
import { admitMessage } from '../../../node/consensus/message-admission.ts';
import { peerIdForPublicKey } from '../../../node/p2p/identity.ts';
import { allowedAuthorities } from '../../../node/p2p/node-host.ts';
import { authorityPeers } from '../../../node/p2p/peers.ts';
import type { Block } from '../../../node/protocol/block.ts';
import type { Hex } from '../../../node/protocol/hash.ts';
import { type KeyPair, Signer } from '../../../node/protocol/signature.ts';
import { type Transaction, transactionHash } from '../../../node/protocol/transaction.ts';
import { signVote } from '../../../node/protocol/votes.ts';
import { applicationModules } from '../../../node/state/application.ts';
import { MEMBERSHIP_DELAY } from '../../../node/state/modules/governance.ts';
import { certify } from '../../fixtures/commit.ts';
import { devGenesis, generateKeyPair } from '../../fixtures/node.ts';

const members = [generateKeyPair(), generateKeyPair(), generateKeyPair(), generateKeyPair()] as KeyPair[];
const base = devGenesis(members);
const genesis = {
  ...base,
  authorities: base.authorities.map((a, i) => ({ ...a, address: `/ip4/10.0.0.${i + 1}/tcp/7201` })),
};
const modules = applicationModules(genesis);
const rotating = members[1] as KeyPair;
const next = generateKeyPair();
const keys = new Map<Hex, KeyPair>([...members, next].map((k) => [k.publicKey, k]));
/** A certificate's signatures in ascending key order, as the certificate rule requires. */
const signersOf = (set: readonly KeyPair[]) =>
  [...set].sort((x, y) => (x.publicKey < y.publicKey ? -1 : 1)).map((k) => new Signer(k));

async function rotatedChain() {
  const chain = await Chain.openStorage(new MemoryChainStore(), genesis, modules);
  const blocks: Block[] = [];
  /** Proposes a block of `txs`, certified by `signers` (default: the authorities at its height). */
  const commit = async (txs: Transaction[] = [], signers?: KeyPair[]) => {
    const items = txs.map((tx) => ({ tx, hash: transactionHash(tx) }));
    const height = chain.head.height + 1;
    const proposer = chain.authoritiesAt(height)[0] as Hex;
    const { block, execution } = chain.propose(items, chain.head.timestamp + 1, proposer);
    const by = signers ?? chain.authoritiesAt(height).map((k) => keys.get(k) as KeyPair);
    const certified = certify(block, signersOf(by));
    await chain.commit(certified, execution);
    blocks.push(certified);
    return { block, execution };
  };
  await commit();
  await commit([transactions(genesis.chainId).governance.rotate(rotating, next)]);
  const effectiveFrom = chain.head.height + MEMBERSHIP_DELAY;
  return { chain, blocks, commit, effectiveFrom };
}

const source = (blocks: readonly Block[]) => ({
  head: async () => ({ height: blocks.length, hash: blocks.at(-1)?.certificate?.blockHash as Hex }),
  block: async (h: number) => JSON.parse(JSON.stringify(blocks[h - 1])),
});

test('the new key finalizes from the effective height, the old key before; chain verify follows', async () => {
  const { chain, blocks, commit, effectiveFrom } = await rotatedChain();
  const withOld = members;
  const withNew = members.map((m) => (m === rotating ? next : m));
  // Up to the boundary the old key signs; the new key's signature is not yet an authority's.
  while (chain.head.height < effectiveFrom - 1) {
    const height = chain.head.height + 1;
    const { block } = chain.propose([], chain.head.timestamp + 1, chain.authoritiesAt(height)[0] as Hex);
    await assert.rejects(
      chain.commit(certify(block, signersOf(withNew)), chain.validate(block)),
      new RegExp(`certificate signed by non-authority ${next.publicKey.slice(0, 16)}`),
    );
    await commit([], withOld);
  }
  // At the boundary it is the other way round.
  const { block } = chain.propose([], chain.head.timestamp + 1, chain.authoritiesAt(effectiveFrom)[0] as Hex);
  await assert.rejects(
    chain.commit(certify(block, signersOf(withOld)), chain.validate(block)),
    new RegExp(`certificate signed by non-authority ${rotating.publicKey.slice(0, 16)}`),
  );
  await commit([], withNew);
  await commit();
  assert.ok(chain.authoritiesAt(chain.head.height).includes(next.publicKey));
  assert.ok(!chain.authoritiesAt(chain.head.height).includes(rotating.publicKey));

  const verdict = await verifyChain(source(blocks), genesis, modules);
  assert.deepEqual(verdict, {
    ok: true,
    height: blocks.length,
    headHash: blocks.at(-1)?.certificate?.blockHash,
  });

  // A chain whose boundary block the old key certified (the set before rotation) does not verify there.
  const forged = [...blocks];
  const boundary = forged[effectiveFrom - 1] as Block;
  forged[effectiveFrom - 1] = certify({ ...boundary, certificate: null }, signersOf(withOld));
  const refused = await verifyChain(source(forged.slice(0, effectiveFrom)), genesis, modules);
  assert.equal(refused.ok, false);
  assert.equal(refused.height, effectiveFrom);
});

test("the old key's votes are refused from the effective height; the gater and dialling follow the rotation", async () => {
  const { chain, commit, effectiveFrom } = await rotatedChain();
  const vote = (key: KeyPair, height: number) => ({
    kind: 'vote' as const,
    vote: signVote(
      { chainId: genesis.chainId, type: 'prevote', height, round: 0, blockHash: null },
      new Signer(key),
    ),
  });
  const allowed = () => allowedAuthorities(chain).map((a) => a.publicKey);
  // Decided, not in force: both keys may connect (the new one to catch up before it must vote).
  assert.ok(allowed().includes(rotating.publicKey) && allowed().includes(next.publicKey));
  while (chain.head.height < effectiveFrom - 2) await commit();
  assert.equal(admitMessage(chain, vote(rotating, effectiveFrom - 1)).admission.verdict, 'accept');
  assert.equal(admitMessage(chain, vote(next, effectiveFrom - 1)).admission.verdict, 'reject');
  assert.deepEqual(admitMessage(chain, vote(rotating, effectiveFrom)).admission, {
    verdict: 'reject',
    reason: 'sender is not an authority',
  });
  assert.equal(admitMessage(chain, vote(next, effectiveFrom)).admission.verdict, 'accept');
  await commit();
  // The head is effectiveFrom - 1: the next height is the new key's; the old key is off the list.
  assert.ok(allowed().includes(next.publicKey));
  assert.ok(!allowed().includes(rotating.publicKey));

  // Every other authority is dialled at its on-chain address; the seat keeps its address.
  const peers = await authorityPeers(allowedAuthorities(chain), (members[0] as KeyPair).publicKey);
  const seat = genesis.authorities[1];
  assert.ok(seat?.address);
  assert.ok(peers.includes(`${seat.address}/p2p/${await peerIdForPublicKey(next.publicKey)}`));
  assert.equal(peers.length, 3);
});
