/**
 * Consortium consensus: runs the Tendermint engine (tendermint/engine.ts) for one authority over
 * the real network. It carries out what the engine returns — broadcasts as gossip, timeouts as
 * timers, decisions as commits — and feeds it what arrives, after validating it. It also keeps the
 * node caught up: peers announce their height, and a node that is behind fetches the missing
 * blocks (block sync) and checks each one and its certificate before committing it. A node that is
 * not an authority at a height (an observer, or a municipality not yet voted in) runs no engine
 * for it: it follows the chain by sync and votes on nothing.
 */
import type { PeerId } from '@libp2p/interface';
import type { Counter } from 'prom-client';
import type { Chain } from '../chain/chain.ts';
import type { Logger } from '../log.ts';
import type { Mempool } from '../mempool/mempool.ts';
import type { Gossip, Judgement } from '../p2p/gossip.ts';
import type { RunningHost } from '../p2p/host.ts';
import { fetchBlocks, MAX_SYNC_BLOCKS, serveBlocks } from '../p2p/sync.ts';
import { type Block, certificateProblem, decodeBlock } from '../protocol/block.ts';
import type { TillidError } from '../protocol/errors.ts';
import type { Hex } from '../protocol/hash.ts';
import { type Signer, verifySignature } from '../protocol/signature.ts';
import type { Consensus } from './consensus.ts';
import { ChainApplication } from './tendermint/chain-application.ts';
import { DEFAULT_TIMEOUTS, type EngineOutput, TendermintEngine, type Timeouts } from './tendermint/engine.ts';
import {
  type ConsensusMessage,
  decodeConsensusMessage,
  heightOf,
  proposalSignatureValid,
  type SignatureCheck,
  senderOf,
  voteSignatureValid,
} from './tendermint/messages.ts';
import type { SignedVoteLog } from './tendermint/signed-log.ts';

export interface ConsortiumOptions {
  readonly chain: Chain;
  readonly mempool: Mempool;
  readonly running: RunningHost;
  readonly gossip: Gossip;
  /** Absent for an observer. */
  readonly authority?: { readonly signer: Signer; readonly signedLog: SignedVoteLog };
  readonly timeouts?: Timeouts;
  /** Pause after a commit before the next height starts (CometBFT's timeout_commit), unless the mempool holds a full block. */
  readonly blockIntervalMs: number;
  /**
   * With an empty mempool, how long to wait before producing an empty block (CometBFT's
   * create_empty_blocks_interval). Work arriving, or another authority starting the height, ends
   * the wait. Defaults to blockIntervalMs: empty blocks at the normal pace.
   */
  readonly emptyBlockIntervalMs?: number;
  readonly now: () => number;
  readonly log: Logger;
  readonly evidence: Counter<'kind'>;
  /** Blocks received by sync that failed validation. */
  readonly syncRejected: Counter;
  /** Told about transactions this node's proposals left out for good. */
  readonly onDropped?: (hash: Hex, error: TillidError) => void;
  /** Told about two conflicting messages one authority signed. */
  readonly onEvidence?: (first: ConsensusMessage, second: ConsensusMessage) => void;
}

/** A height without progress for this long makes the engine send everything it holds again. */
const STALL_MS = 1000;
const STATUS_INTERVAL_MS = 1000;
/** Consensus messages for heights further ahead than this are ignored (and trigger a sync). */
const MAX_HEIGHTS_AHEAD = 2;

class InvalidSyncBlock extends Error {}

const verdictKey = (key: Hex, bytes: Uint8Array, signature: Hex): string =>
  `${key}:${signature}:${Buffer.from(bytes).toString('base64')}`;

/** What travels on the consensus topic: a message plus a relay counter, so a resend is new gossip. */
interface Envelope {
  readonly message: ConsensusMessage;
  readonly relay: number;
}

export class ConsortiumConsensus implements Consensus {
  readonly #o: ConsortiumOptions;
  readonly #engine: TendermintEngine | undefined;
  readonly #app: ChainApplication | undefined;
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Signed messages the gossip validator found valid, so the engine does not verify them again. */
  readonly #verified = new Set<string>();
  readonly #peerHeights = new Map<string, { peer: PeerId; height: number }>();
  #relay = 0;
  #lastProgress = 0;
  /**
   * Decisions and block sync both append to the chain; they take turns through this queue, and
   * each re-checks the head once it is its turn, so neither sees the other's half-made state.
   */
  #appending: Promise<void> = Promise.resolve();
  #syncing = false;
  #stopped = true;
  /** Waiting, with an empty mempool, for work or the empty-block interval before the next height. */
  #idle = false;
  #committedAt = 0;
  #statusTimer: NodeJS.Timeout | undefined;

  readonly #emptyBlockIntervalMs: number;

  constructor(options: ConsortiumOptions) {
    this.#o = options;
    this.#emptyBlockIntervalMs = options.emptyBlockIntervalMs ?? options.blockIntervalMs;
    if (options.authority) {
      this.#app = new ChainApplication({
        chain: options.chain,
        mempool: options.mempool,
        proposer: options.authority.signer.publicKey,
        now: options.now,
        ...(options.onDropped ? { onDropped: options.onDropped } : {}),
      });
      this.#engine = new TendermintEngine({
        chainId: options.chain.rules.chainId,
        signer: options.authority.signer,
        app: this.#app,
        signedLog: options.authority.signedLog,
        timeouts: options.timeouts ?? DEFAULT_TIMEOUTS,
        signatureCheck: (key, bytes, signature) =>
          this.#verified.has(verdictKey(key, bytes, signature)) || verifySignature(key, bytes, signature),
      });
    }
  }

  get isAuthority(): boolean {
    return this.#engine !== undefined;
  }

  transactionsArrived(): void {
    this.#wake();
  }

  async start(): Promise<void> {
    const { gossip, chain, running, log } = this.#o;
    this.#stopped = false;
    await serveBlocks(
      running.host,
      chain.rules.chainId,
      { height: () => chain.head.height, block: (h) => chain.block(h) },
      log,
    );
    // Proposals and votes travel on separate topics: a proposal carries a block and may be large,
    // a vote is small and frequent, so each topic can be judged and penalised on its own.
    for (const topic of ['proposal', 'vote'] as const) {
      gossip.on<Envelope>(topic, {
        validate: (input) => this.#validateConsensus(input, topic),
        deliver: (envelope) => {
          // Another authority has started the next height: so do we, rather than idle.
          if (heightOf(envelope.message) === this.#o.chain.head.height + 1) this.#wake();
          this.#run(this.#engine?.onMessage(envelope.message) ?? []);
        },
      });
    }
    gossip.on<{ height: number }>('status', {
      validate: (input) => {
        const height = (input as { height?: unknown })?.height;
        return Number.isSafeInteger(height) && (height as number) >= 0
          ? { verdict: 'accept', value: { height: height as number } }
          : { verdict: 'reject', reason: 'bad status' };
      },
      deliver: ({ height }, from) => {
        this.#peerHeights.set(from.toString(), { peer: from, height });
        if (height > chain.head.height) void this.#sync();
      },
    });
    this.#lastProgress = this.#o.now();
    this.#statusTimer = setInterval(() => this.#tick(), STATUS_INTERVAL_MS);
    this.#startEngine();
  }

  /** Runs the engine on the next height if this node is one of its authorities; else it follows. */
  #startEngine(): void {
    const height = this.#o.chain.head.height + 1;
    const me = this.#o.authority?.signer.publicKey;
    if (!this.#engine || !me || !this.#o.chain.authoritiesAt(height).includes(me)) return;
    this.#run(this.#engine.start(height));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#statusTimer);
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    // Let a commit in flight finish: a half-made commit is impossible (one batch), but closing the
    // store under it would log a needless error.
    while (this.#syncing) await new Promise((r) => setTimeout(r, 10));
    await this.#appending;
  }

  /** Gossip validation for consensus messages: shape, sender, height window, signature. */
  #validateConsensus(input: unknown, topic: 'proposal' | 'vote'): Judgement<Envelope> {
    const envelope = input as Partial<Envelope> | null;
    if (!envelope || typeof envelope !== 'object' || !Number.isSafeInteger(envelope.relay)) {
      return { verdict: 'reject', reason: 'not a consensus envelope' };
    }
    const decoded = decodeConsensusMessage(envelope.message);
    if (!decoded.ok) return { verdict: 'reject', reason: decoded.reason };
    const message = decoded.value;
    if (message.kind !== topic)
      return { verdict: 'reject', reason: `a ${message.kind} on the ${topic} topic` };
    const chain = this.#o.chain;
    const height = heightOf(message);
    if ((message.kind === 'vote' ? message.vote.chainId : message.proposal.chainId) !== chain.rules.chainId) {
      return { verdict: 'reject', reason: 'another chain' };
    }
    if (height <= chain.head.height) return { verdict: 'ignore', reason: 'height already final' };
    if (height > chain.head.height + MAX_HEIGHTS_AHEAD) {
      void this.#sync();
      return { verdict: 'ignore', reason: 'height far ahead' };
    }
    const sender = senderOf(message);
    if (!chain.authoritiesAt(height).includes(sender))
      return { verdict: 'reject', reason: 'sender is not an authority' };
    if (!this.#signatureValid(message)) return { verdict: 'reject', reason: 'bad signature' };
    return { verdict: 'accept', value: { message, relay: envelope.relay as number } };
  }

  #signatureValid(message: ConsensusMessage): boolean {
    // The engine's own check, run here once so an invalid message is never forwarded. Only valid
    // verdicts are remembered, keyed by everything the signature covers, so the engine skips
    // re-verifying exactly this message — and a reused signature on other bytes proves nothing.
    const remember: SignatureCheck = (key, bytes, signature) => {
      const valid = verifySignature(key, bytes, signature);
      if (valid) {
        if (this.#verified.size > 50_000) this.#verified.clear();
        this.#verified.add(verdictKey(key, bytes, signature));
      }
      return valid;
    };
    return message.kind === 'vote'
      ? voteSignatureValid(message.vote, remember)
      : proposalSignatureValid(message.proposal, undefined, remember);
  }

  /** Carries out engine outputs. */
  #run(outputs: EngineOutput[]): void {
    if (this.#stopped) return;
    for (const output of outputs) {
      switch (output.type) {
        case 'broadcast':
          void this.#o.gossip.publish(output.message.kind, {
            message: output.message,
            relay: this.#relay++,
          } satisfies Envelope);
          break;
        case 'schedule-timeout': {
          const timer = setTimeout(() => {
            this.#timers.delete(timer);
            this.#run(this.#engine?.onTimeout(output) ?? []);
          }, output.delayMs);
          this.#timers.add(timer);
          break;
        }
        case 'decide':
          void this.#commit({ ...output.block, certificate: output.certificate });
          break;
        case 'evidence':
          this.#o.evidence.inc({ kind: output.first.kind });
          this.#o.log.warn(
            { authority: senderOf(output.first), height: heightOf(output.first), kind: output.first.kind },
            'equivocation',
          );
          this.#o.onEvidence?.(output.first, output.second);
          break;
      }
    }
  }

  /** Runs `append` after every earlier append has finished. */
  #append<T>(append: () => Promise<T>): Promise<T> {
    const result = this.#appending.then(append);
    this.#appending = result.then(
      () => {},
      () => {},
    );
    return result;
  }

  async #commit(block: Block): Promise<void> {
    const { chain, mempool, log } = this.#o;
    const committed = await this.#append(async () => {
      // Block sync may have got there first.
      if (block.header.height !== chain.head.height + 1) return false;
      try {
        const execution = this.#app ? this.#app.executionOf(block) : chain.validate(block);
        await chain.commit(block, execution);
        mempool.remove(execution.included.map((t) => t.hash));
        this.#app?.committed();
        this.#lastProgress = this.#o.now();
        return true;
      } catch (e) {
        log.error({ err: e, height: block.header.height }, 'commit of a decided block failed');
        return false;
      }
    });
    if (committed) this.#startNextHeight();
  }

  /**
   * Starts the engine on the height after the head, after the block interval unless a full block
   * is waiting. Messages that arrive meanwhile are buffered by the engine.
   */
  #startNextHeight(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    if (!this.#engine) return;
    const { mempool, chain, blockIntervalMs } = this.#o;
    this.#committedAt = this.#o.now();
    const full = mempool.size >= chain.rules.params.maxBlockTransactions;
    // With nothing to do, wait up to the empty-block interval — unless work arrives first.
    this.#idle = mempool.size === 0 && this.#emptyBlockIntervalMs > blockIntervalMs;
    this.#scheduleStart(full ? 0 : this.#idle ? this.#emptyBlockIntervalMs : blockIntervalMs);
  }

  #scheduleStart(delay: number): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#idle = false;
      this.#startEngine();
    }, delay);
    this.#timers.add(timer);
  }

  /** Ends an idle wait: the next height starts one block interval after the last commit. */
  #wake(): void {
    if (!this.#idle) return;
    this.#idle = false;
    this.#scheduleStart(Math.max(0, this.#committedAt + this.#o.blockIntervalMs - this.#o.now()));
  }

  /** Fetches and commits blocks from the highest peer until caught up. Every block is checked. */
  async #sync(): Promise<void> {
    const { chain, running, log } = this.#o;
    if (this.#syncing || this.#stopped) return;
    const best = [...this.#peerHeights.values()].sort((a, b) => b.height - a.height)[0];
    if (!best || best.height <= chain.head.height) return;
    this.#syncing = true;
    const from = chain.head.height + 1;
    try {
      while (!this.#stopped && chain.head.height < best.height) {
        const raw = await fetchBlocks(
          running.host,
          chain.rules.chainId,
          best.peer,
          chain.head.height + 1,
          MAX_SYNC_BLOCKS,
        );
        if (raw.length === 0) break;
        for (const input of raw) {
          await this.#append(async () => {
            let block: Block;
            let execution: ReturnType<Chain['validate']>;
            try {
              block = decodeBlock(input);
            } catch (e) {
              throw new InvalidSyncBlock((e as Error).message);
            }
            // Consensus may have committed this height while the blocks were on their way.
            if (block.header.height <= chain.head.height) return;
            try {
              execution = chain.validate(block);
              const problem = certificateProblem(
                block.certificate,
                block.header,
                chain.authoritiesAt(block.header.height),
              );
              if (problem) throw new Error(problem);
            } catch (e) {
              throw new InvalidSyncBlock(`block ${block.header.height}: ${(e as Error).message}`);
            }
            await chain.commit(block, execution);
            this.#o.mempool.remove(execution.included.map((t) => t.hash));
          });
        }
      }
      log.info({ from, to: chain.head.height, peer: best.peer.toString() }, 'caught up by block sync');
    } catch (e) {
      // Another peer will be asked. One that served a block that fails validation — a wrong
      // parent, state root or certificate — is provably faulty: cut off and refused for a while.
      this.#peerHeights.delete(best.peer.toString());
      if (e instanceof InvalidSyncBlock) {
        this.#o.syncRejected.inc();
        log.warn(
          { err: e.message, peer: best.peer.toString() },
          'a peer served an invalid block; disconnecting it',
        );
        await running.ban(best.peer, 10 * 60_000);
      } else {
        log.warn({ err: (e as Error).message, peer: best.peer.toString() }, 'block sync failed');
      }
    } finally {
      this.#syncing = false;
    }
    if (chain.head.height >= from) {
      this.#lastProgress = this.#o.now();
      this.#app?.committed();
      this.#startNextHeight();
    }
  }

  #tick(): void {
    if (this.#stopped) return;
    void this.#o.gossip.publish('status', { height: this.#o.chain.head.height, at: this.#o.now() });
    if (this.#engine && this.#o.now() - this.#lastProgress > STALL_MS) {
      this.#run(this.#engine.rebroadcast());
      this.#lastProgress = this.#o.now();
    }
  }
}
