/**
 * What an attacker who controls a node's host can do to its store: rewrite state after the fact.
 * The node keeps running the production code; only its data directory lies.
 *
 * Why a forged store rather than a lying build: a compromised operator, or anyone with write access
 * to the volume, edits data — the software stays the signed release image. And no lying code path
 * has to exist in any image (a "lie" flag would ship in production). The forgery here is the
 * strongest one a store allows: the forged values, the state tree over them and the head all agree,
 * so the node's own consistency checks pass and it serves the lie with a proof (node/chain/prove.ts).
 * What the attacker cannot do is sign for the other authorities: the forged state root changes the
 * head block's header, so its hash no longer matches the commit certificate, which is kept as it
 * was. (A node that only edited values under the certified root would refuse to prove them at all:
 * `proveKey` checks each value against its leaf.) The node then stays at the forged head: the next
 * certified block does not extend it.
 *
 * Written through the node's own store (node/chain/store.ts `commit`), so the forgery is in whatever
 * format the release stores; the node must be stopped.
 */
import { chownSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ChainStore } from '../../node/chain/store.ts';
import { blockHash } from '../../node/protocol/block.ts';
import type { Json } from '../../node/protocol/canonical.ts';
import type { Hex } from '../../node/protocol/hash.ts';
import { updateTree } from '../../node/state/commitment/tree.ts';

export interface Forgery {
  /** The height of the head block whose state (and header) was forged. */
  readonly height: number;
  /** The certified block hash, and the hash of the forged header that now stands in its place. */
  readonly certifiedHash: Hex;
  readonly forgedHash: Hex;
}

const blockKey = (height: number): string => `b:${String(height).padStart(12, '0')}`;

/**
 * Forges the head state of the stopped node whose LevelDB store is `dataDir`: `forge` gets a state
 * reader and returns the state writes the attacker wants (e.g. a fabricated payment decision).
 */
export async function forgeHeadState(
  dataDir: string,
  forge: (get: (key: string) => Json | undefined, head: { height: number }) => Map<string, Json>,
): Promise<Forgery> {
  const owner = statSync(dataDir);
  const store = await ChainStore.open(dataDir, { createIfMissing: false });
  try {
    const head = store.head();
    if (!head) throw new Error(`no chain in ${dataDir}`);
    const block = await store.getBlock(head.height);
    if (!block) throw new Error(`no block ${head.height} in ${dataDir}`);
    const writes = forge((key) => store.get(key), head);
    const tree = updateTree(store, head.stateRoot, writes);
    // The certificate stays: it is all the attacker has, and it signs the certified header.
    const header = { ...block.header, stateRoot: tree.root };
    const forgedHash = blockHash(header);
    await store.commit(
      { ...block, header },
      writes,
      { ...head, hash: forgedHash, stateRoot: tree.root },
      tree,
    );
    return { height: head.height, certifiedHash: head.hash, forgedHash };
  } finally {
    await store.close();
    // As root, the files LevelDB wrote go back to the node's user, as the attacker would leave them.
    if (process.getuid?.() === 0) {
      const { uid, gid } = owner;
      for (const f of ['', ...readdirSync(dataDir)]) chownSync(join(dataDir, f), uid, gid);
    }
  }
}
