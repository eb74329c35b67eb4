/**
 * The genesis: the founding agreement of a network. Every member checks its hash during the key
 * ceremony; a node refuses to open a data directory created under a different genesis.
 */
import { TillidError } from './errors.ts';
import { canonicalHash, type Hex } from './hash.ts';
import { isValidPublicKey } from './signature.ts';

export interface Authority {
  /** Municipality name, e.g. "Høje-Taastrup Kommune". */
  readonly name: string;
  /** Danish company registration number: 8 digits. */
  readonly cvr: string;
  readonly publicKey: Hex;
  /** libp2p multiaddr where peers reach this authority's node, when known. */
  readonly address?: string;
}

/** Consensus parameters: every node must agree on these, so they live in the genesis. */
export interface ChainParams {
  readonly maxBlockTransactions: number;
  /** A transaction's `expiresAt` may lie at most this far after the block time that includes it. */
  readonly maxTransactionTtlMs: number;
  /**
   * The business clock contracts keep time by (node/state/contracts/calendar.ts). Absent: block
   * time. `accelerated` (development networks only): `origin + height × msPerBlock`, so a year of
   * monthly due dates passes in a few dozen blocks.
   */
  readonly clock?:
    | { readonly kind: 'block-time' }
    | { readonly kind: 'accelerated'; readonly origin: number; readonly msPerBlock: number };
}

export interface Genesis {
  readonly chainId: string;
  /** ms since the epoch; block 1's timestamp must be later. */
  readonly genesisTime: number;
  readonly authorities: readonly Authority[];
  readonly params: ChainParams;
}

export const DEFAULT_PARAMS: ChainParams = {
  maxBlockTransactions: 5000,
  maxTransactionTtlMs: 60 * 60 * 1000,
};

export const genesisHash = (genesis: Genesis): Hex => canonicalHash(genesis);

const CVR = /^\d{8}$/;

/** Validates a genesis read from a file; throws a TillidError naming the first problem. */
export function decodeGenesis(input: unknown): Genesis {
  const bad = (message: string) => new TillidError('BAD_REQUEST', `genesis: ${message}`);
  if (typeof input !== 'object' || input === null) throw bad('not an object');
  const g = input as Record<string, unknown>;
  if (typeof g.chainId !== 'string' || !/^[a-z0-9][a-z0-9-]{0,63}$/.test(g.chainId)) throw bad('chainId');
  if (!Number.isSafeInteger(g.genesisTime)) throw bad('genesisTime must be ms since the epoch');
  if (!Array.isArray(g.authorities) || g.authorities.length === 0) throw bad('at least one authority');
  const keys = new Set<string>();
  for (const a of g.authorities as Record<string, unknown>[]) {
    if (typeof a?.name !== 'string' || a.name.length === 0) throw bad('authority name');
    if (typeof a.cvr !== 'string' || !CVR.test(a.cvr)) throw bad(`authority ${a.name}: CVR must be 8 digits`);
    if (!isValidPublicKey(a.publicKey)) throw bad(`authority ${a.name}: invalid public key`);
    if (keys.has(a.publicKey)) throw bad(`authority ${a.name}: duplicate public key`);
    keys.add(a.publicKey);
  }
  const p = g.params as Record<string, unknown> | undefined;
  if (!p || !Number.isSafeInteger(p.maxBlockTransactions) || (p.maxBlockTransactions as number) < 1) {
    throw bad('params.maxBlockTransactions');
  }
  if (!Number.isSafeInteger(p.maxTransactionTtlMs) || (p.maxTransactionTtlMs as number) < 1000) {
    throw bad('params.maxTransactionTtlMs');
  }
  const clock = p.clock as Record<string, unknown> | undefined;
  if (clock !== undefined) {
    const accelerated =
      clock?.kind === 'accelerated' &&
      Number.isSafeInteger(clock.origin) &&
      Number.isSafeInteger(clock.msPerBlock) &&
      (clock.msPerBlock as number) >= 1 &&
      (clock.msPerBlock as number) <= 31 * 86_400_000;
    if (!(clock?.kind === 'block-time' || accelerated)) {
      throw bad(
        "params.clock: { kind: 'block-time' } or { kind: 'accelerated', origin, msPerBlock ≤ 31 days }",
      );
    }
  }
  return input as Genesis;
}
