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
 * Writes straight into LevelDB with the key spaces of node/chain/store.ts; the node must be stopped.
 */
import { chownSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import type { Block } from '../../node/protocol/block.ts';
import { blockHash } from '../../node/protocol/block.ts';
import type { Json } from '../../node/protocol/canonical.ts';
import type { Hex } from '../../node/protocol/hash.ts';
import { type EncodedNode, updateTree } from '../../node/state/commitment/tree.ts';

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
  const db = new ClassicLevel<string, string>(dataDir, {
    keyEncoding: 'utf8',
    valueEncoding: 'utf8',
    createIfMissing: false,
  });
  await db.open();
  try {
    const head = JSON.parse((await db.get('m:head')) as string) as {
      height: number;
      hash: Hex;
      stateRoot: Hex;
      timestamp: number;
    };
    const get = (key: string): Json | undefined => {
      const raw = db.getSync(`s:${key}`);
      return raw === undefined ? undefined : (JSON.parse(raw) as Json);
    };
    const writes = forge(get, head);
    const tree = updateTree({ treeNode: (h) => db.getSync(`t:${h}`) }, head.stateRoot, writes);
    const block = JSON.parse((await db.get(blockKey(head.height))) as string) as Block;
    // The certificate stays: it is all the attacker has, and it signs the certified header.
    const forged: Block = { ...block, header: { ...block.header, stateRoot: tree.root } };
    const forgedHash = blockHash(forged.header);
    const batch = db.batch();
    for (const [key, value] of writes) batch.put(`s:${key}`, JSON.stringify(value));
    for (const [hash, node] of tree.nodes as Map<Hex, EncodedNode>) batch.put(`t:${hash}`, node);
    batch.put(blockKey(head.height), JSON.stringify(forged));
    batch.put('m:head', JSON.stringify({ ...head, hash: forgedHash, stateRoot: tree.root }));
    await batch.write({ sync: true });
    return { height: head.height, certifiedHash: head.hash, forgedHash };
  } finally {
    await db.close();
    // As root, the files LevelDB wrote go back to the node's user, as the attacker would leave them.
    if (process.getuid?.() === 0) {
      const { uid, gid } = owner;
      for (const f of ['', ...readdirSync(dataDir)]) chownSync(join(dataDir, f), uid, gid);
    }
  }
}
