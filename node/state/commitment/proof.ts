/**
 * Building and checking proofs of state entries against a state root. The check is what a light
 * client, the gateway and `tillid proof verify` run; it needs nothing but the root and the proof.
 */
import type { Json } from '../../protocol/canonical.ts';
import { type Hex, isHex } from '../../protocol/hash.ts';
import type { StateReader } from '../module.ts';
import {
  bitAt,
  EMPTY_ROOT,
  internalHash,
  keyHashOf,
  leafHash,
  provePath,
  type StateProof,
  type TreePageReader,
  valueHashOf,
} from './tree.ts';

export type { StateProof } from './tree.ts';

/** Thrown when a value in the store does not match the tree (the head moved meanwhile, or damage). */
export class StaleReadError extends Error {}

/** The proof for `key` under `root`, with the key's value read from `state` when present. */
export function proveKey(reader: TreePageReader & StateReader, root: Hex, key: string): StateProof {
  const path = provePath(reader, root, key);
  if (path.present) {
    const value = reader.get(key);
    if (value === undefined || valueHashOf(value) !== path.leaf?.valueHash)
      throw new StaleReadError(`the stored value of ${key} is not the one under root ${root}`);
    return { key, value, siblings: path.siblings };
  }
  if (!path.leaf) return { key, siblings: path.siblings };
  const { keyHash, valueHash } = path.leaf;
  return { key, siblings: path.siblings, other: { keyHash, valueHash } };
}

/**
 * Checks `proof` against `root`. Returns `undefined` when it holds (the key has `proof.value`, or is
 * absent when there is none), else why not. Anything malformed is a failure, never an exception.
 */
export function stateProofProblem(root: Hex, proof: unknown): string | undefined {
  if (typeof proof !== 'object' || proof === null) return 'the proof is not an object';
  const p = proof as Record<string, unknown>;
  for (const field of Object.keys(p))
    if (!['key', 'value', 'siblings', 'other'].includes(field)) return `unknown proof field ${field}`;
  if (typeof p.key !== 'string') return 'proof.key is not a string';
  if (!Array.isArray(p.siblings) || p.siblings.length > 256 || !p.siblings.every((s) => isHex(s, 32)))
    return 'proof.siblings must be at most 256 hashes';
  const keyHash = keyHashOf(p.key);
  const depth = p.siblings.length;
  let node: Hex;
  if ('value' in p) {
    if (p.other !== undefined) return 'a proof of presence has no other leaf';
    if (p.value === undefined) return 'proof.value is undefined';
    try {
      node = leafHash(keyHash, valueHashOf(p.value as Json));
    } catch {
      return 'proof.value is not canonical JSON';
    }
  } else if (p.other !== undefined) {
    const o = p.other as Record<string, unknown>;
    if (
      typeof o !== 'object' ||
      o === null ||
      Object.keys(o).length !== 2 ||
      !isHex(o.keyHash, 32) ||
      !isHex(o.valueHash, 32)
    )
      return 'proof.other must be { keyHash, valueHash }';
    if (o.keyHash === keyHash) return 'the other leaf is the key itself';
    // The leaf sits where the key's path ends, so it shares the path so far.
    for (let d = 0; d < depth; d++)
      if (bitAt(o.keyHash, d) !== bitAt(keyHash, d)) return 'the other leaf is not on the key path';
    node = leafHash(o.keyHash, o.valueHash);
  } else node = EMPTY_ROOT;
  for (let d = depth - 1; d >= 0; d--) {
    const sibling = p.siblings[d] as Hex;
    node = bitAt(keyHash, d) ? internalHash(sibling, node) : internalHash(node, sibling);
  }
  return node === root ? undefined : 'the proof does not lead to the state root';
}

/** A state reader over proven entries: reading a key that was not proven is an error. */
export class ProvenState implements StateReader {
  readonly #values = new Map<string, Json | undefined>();
  constructor(proofs: readonly StateProof[]) {
    for (const p of proofs) this.#values.set(p.key, p.value);
  }
  get(key: string): Json | undefined {
    if (!this.#values.has(key)) throw new UnprovenKeyError(key);
    return this.#values.get(key);
  }
}

export class UnprovenKeyError extends Error {
  readonly key: string;
  constructor(key: string) {
    super(`the read needs ${key}, which the proof does not cover`);
    this.key = key;
  }
}

/** A state reader that remembers every key read, for proving exactly what a read model looked at. */
export class RecordingState implements StateReader {
  readonly keys = new Set<string>();
  readonly #base: StateReader;
  constructor(base: StateReader) {
    this.#base = base;
  }
  get(key: string): Json | undefined {
    this.keys.add(key);
    return this.#base.get(key);
  }
}
