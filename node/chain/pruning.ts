/**
 * Pruning old versions of the state tree. Tree pages are stored under the hash of their top node
 * and never change (state/commitment/pages.ts), so each block leaves the pages it rewrote in the
 * store, reachable only from older roots — about as many bytes per block as it adds. With a
 * retention of R heights, a store keeps the trees of the last R + 1 heights whole and deletes the
 * rest:
 *
 * - each block's commit also writes its *stale list*: the records it took out of the tree (those
 *   it replaced and did not write again itself: pages, or one-node records of the format before);
 * - the commit of head h deletes the stale list of height h − R in the same batch: after it, no
 *   root before h − R is whole, and `provableFrom` says so (a proof asked below it is refused with
 *   `STATE_PRUNED`, never answered from a half-deleted tree);
 * - a page a later block wrote again (a value set back) is in the tree again: its stored record
 *   carries that later height, and it stays;
 * - proofs that outlive the retention are kept: a proven read carries, for every change of the
 *   authority set, the schedule's proof under the header before it (chain/prove.ts), so the pages
 *   on those paths are never deleted (`PinnedPaths`).
 *
 * Blocks and application state are untouched: `tillid chain verify` and the nodes that sync from
 * this one replay blocks, not trees. Blocks committed before pruning was switched on have no stale
 * list, so their old nodes stay.
 */
import type { Hex } from '../protocol/hash.ts';
import type { TreePageReader } from '../state/commitment/tree.ts';
import { pathRecords } from '../state/commitment/tree.ts';

/** What a commit prunes: the stale list of `height` (when due), sparing `keep` (record ids). */
export interface PruneStep {
  readonly height?: number;
  readonly keep: ReadonlySet<string>;
}

export const staleListKey = (height: number): Buffer => Buffer.from(`S:${String(height).padStart(12, '0')}`);

/**
 * The records (pages) a block took out of the tree, by id (pages.ts): a format byte (1), then 36
 * bytes each, the height (4 bytes big-endian; 0xffffffff for a record keyed by its hash alone)
 * and the hash. Lists of the format before are 32 hash bytes each: a multiple of 32 bytes, never
 * odd as these are.
 */
export function staleRecords(replaced: readonly string[], created: ReadonlyMap<string, Uint8Array>): Buffer {
  const out = Buffer.allocUnsafe(1 + replaced.length * 36);
  out[0] = 1;
  let at = 1;
  for (const id of replaced) {
    if (created.has(id)) continue;
    if (id.length === 64) at += out.write('ffffffff', at, 4, 'hex');
    at += out.write(id, at, 36, 'hex');
  }
  return out.subarray(0, at === 1 ? 0 : at);
}

/** The record ids on a stored stale list, of either format. */
export function staleIds(list: Buffer): string[] {
  const ids: string[] = [];
  if (list.length % 2 === 0) {
    for (let at = 0; at + 32 <= list.length; at += 32) ids.push(list.toString('hex', at, at + 32));
    return ids;
  }
  for (let at = 1; at + 36 <= list.length; at += 36) {
    const id = list.toString('hex', at, at + 36);
    ids.push(id.startsWith('ffffffff') ? id.slice(8) : id);
  }
  return ids;
}

/** The height whose stale list the commit of `head` deletes, with `retention` heights kept. */
export const pruneHeight = (head: number, retention: number): number | undefined =>
  head - retention >= 1 ? head - retention : undefined;

/**
 * The nodes on `key`'s path under each of `roots`: kept whatever the retention, since a proof
 * along them is still served. Memoized per root (nodes never change, so neither does a path).
 */
export class PinnedPaths {
  readonly #paths = new Map<Hex, readonly string[]>();
  readonly #key: string;
  constructor(key: string) {
    this.#key = key;
  }
  records(reader: TreePageReader, roots: readonly Hex[]): Set<string> {
    const keep = new Set<string>();
    for (const root of roots) {
      let path = this.#paths.get(root);
      if (path === undefined) {
        path = pathRecords(reader, root, this.#key);
        this.#paths.set(root, path);
      }
      for (const hash of path) keep.add(hash);
    }
    return keep;
  }
}
