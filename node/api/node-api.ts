/**
 * The node as the API sees it (`NodeApi`), put together from the parts that answer each question:
 * status from the chain head, transaction views from receipts, the mempool and rejection memory,
 * module state through `StateQueries`.
 */
import type { Registry } from 'prom-client';
import type { Chain } from '../chain/chain.ts';
import type { OpenProposalIndex } from '../chain/proposals.ts';
import type { BlockReceiptIndex } from '../chain/receipts.ts';
import type { Mempool } from '../mempool/mempool.ts';
import type { RejectionMemory } from '../mempool/rejections.ts';
import type { Authority } from '../protocol/genesis.ts';
import type { Hex } from '../protocol/hash.ts';
import type { StateQueries } from '../state/queries.ts';
import type { ProveRead } from './proofs.ts';
import type { NodeApi } from './server.ts';
import type { TransactionView } from './transactions.ts';

export interface NodeApiComponents {
  readonly chain: Pick<
    Chain,
    'genesis' | 'genesisHash' | 'head' | 'block' | 'receipt' | 'authorityRecordsAt' | 'onCommit'
  >;
  readonly mempool: Pick<Mempool, 'size' | 'bytes' | 'has'>;
  readonly rejections: Pick<RejectionMemory, 'get'>;
  readonly receipts: Pick<BlockReceiptIndex, 'of'>;
  readonly proposals?: Pick<OpenProposalIndex, 'open'>;
  readonly queries: StateQueries;
  readonly metrics: { readonly registry: Registry };
  /** Connected peers (none for a solo node). */
  readonly peers: () => string[];
  /** Readiness: are blocks being finalized? */
  readonly activity: { producing(): boolean };
  /** Admits a transaction here and relays it to peers. */
  readonly submit: (input: unknown) => Promise<Hex>;
  readonly version: string;
  readonly protocolVersion: number;
  /** Each connected peer's software and protocol version (libp2p identify), by peer id. */
  readonly peerAgents: () => Record<string, string>;
  /** `?proof=true` reads: a read proven against a certified header (chain/prove.ts). */
  readonly proveRead: ProveRead;
  /** This node's block pacing, shown so `network join` can give a newcomer the members' pace. */
  readonly pacing: { readonly blockIntervalMs: number; readonly emptyBlockIntervalMs: number };
}

export function nodeApi(c: NodeApiComponents): NodeApi {
  const { chain, mempool } = c;
  // The authority set for the next height, refreshed on every commit, so status never reads the store.
  let authorities: readonly Authority[] = chain.authorityRecordsAt(chain.head.height + 1);
  chain.onCommit(({ block }) => {
    authorities = chain.authorityRecordsAt(block.header.height + 1);
  });
  return {
    status: () => ({
      chainId: chain.genesis.chainId,
      genesisHash: chain.genesisHash,
      height: chain.head.height,
      finalizedHeight: chain.head.height,
      headHash: chain.head.hash,
      stateRoot: chain.head.stateRoot,
      authorities: authorities.map((a) => ({ name: a.name, cvr: a.cvr, publicKey: a.publicKey })),
      peers: c.peers(),
      mempool: { transactions: mempool.size, bytes: mempool.bytes },
      clock: c.queries.clock(),
      version: c.version,
      softwareVersion: c.version,
      protocolVersion: c.protocolVersion,
      peerAgents: c.peerAgents(),
      pacing: {
        blockIntervalMs: c.pacing.blockIntervalMs,
        emptyBlockIntervalMs: c.pacing.emptyBlockIntervalMs,
      },
    }),
    submit: c.submit,
    transaction: (hash) => transactionView(c, hash),
    block: (height) => chain.block(height),
    blockReceipts: (height) => c.receipts.of(height),
    ready: () => c.activity.producing(),
    metrics: c.metrics.registry,
    queries: c.queries,
    proveRead: c.proveRead,
    ...(c.proposals ? { openProposals: () => (c.proposals as OpenProposalIndex).open() } : {}),
  };
}

function transactionView(c: NodeApiComponents, hash: Hex): TransactionView | undefined {
  // The receipt first: a committed transaction may still sit in the mempool for a moment.
  const receipt = c.chain.receipt(hash);
  if (receipt) {
    return receipt.code === 'OK'
      ? { hash, status: 'finalized', height: receipt.height, index: receipt.index }
      : {
          hash,
          status: 'rejected',
          height: receipt.height,
          index: receipt.index,
          code: receipt.code,
          message: receipt.message,
        };
  }
  if (c.mempool.has(hash)) return { hash, status: 'pending' };
  const rejected = c.rejections.get(hash);
  if (rejected) return { hash, status: 'rejected', ...rejected };
  return undefined;
}
