/**
 * What proposals and votes look like between nodes, and how one from a peer is judged before it
 * reaches the host or is forwarded: on the gossip topics, and in an answer to a held-message
 * request (p2p/held-fetch.ts), which is judged exactly like gossip. Shape first, then the host's
 * admission (height, sender is an authority there), the proposer's turn, and the signature last —
 * so only the scheduled proposer's signed proposal for a height being decided can make this node
 * fetch transactions. Valid signatures are remembered, so the engine (and a re-sent copy) does not
 * verify the same message again.
 */
import type { Chain } from '../chain/chain.ts';
import type { Judgement } from '../p2p/gossip.ts';
import type { Hex } from '../protocol/hash.ts';
import { verifySignature } from '../protocol/signature.ts';
import {
  type CompactProposal,
  compactProposal,
  compactSignatureValid,
  decodeCompactProposal,
} from './compact-proposal.ts';
import type { Admission } from './message-admission.ts';
import {
  type ConsensusMessage,
  decodeVote,
  type SignatureCheck,
  voteSignatureValid,
} from './tendermint/messages.ts';
import { proposer as scheduledProposer } from './tendermint/schedule.ts';

/** What travels on the vote topic: a vote plus a relay counter, so a resend is new gossip. */
export interface Envelope {
  readonly message: ConsensusMessage;
  readonly relay: number;
}

/** What travels on the proposal topic: the proposal with its transactions by hash, and a relay counter. */
export interface ProposalEnvelope {
  readonly proposal: CompactProposal;
  readonly relay: number;
}

/** A message as a held-message answer carries it: a proposal in its compact form, or a vote. */
export type HeldMessage = { kind: 'proposal'; proposal: CompactProposal } | ConsensusMessage;

/** The wire form of a held message. */
export const heldMessage = (m: ConsensusMessage): HeldMessage =>
  m.kind === 'proposal' ? { kind: 'proposal', proposal: compactProposal(m.proposal) } : m;

const verdictKey = (key: Hex, bytes: Uint8Array, signature: Hex): string =>
  `${key}:${signature}:${Buffer.from(bytes).toString('base64')}`;

/** Signed messages remembered as valid before the memo starts over. */
const MAX_VERDICTS = 50_000;

export class ConsensusGossipCheck {
  readonly #chain: Chain;
  readonly #admit: (message: ConsensusMessage, from: string) => Admission;
  /** Signed messages found valid, so the engine does not verify them again. */
  readonly #verified = new Set<string>();

  constructor(chain: Chain, admit: (message: ConsensusMessage, from: string) => Admission) {
    this.#chain = chain;
    this.#admit = admit;
  }

  /** The engine's signature check: a message judged here is not verified again. */
  readonly signatureCheck: SignatureCheck = (key, bytes, signature) =>
    this.#verified.has(verdictKey(key, bytes, signature)) || verifySignature(key, bytes, signature);

  /** A vote from `from`: shape, then the host's admission, then the signature. */
  vote(input: unknown, from: string): Judgement<Envelope> {
    const envelope = input as { message?: { kind?: unknown; vote?: unknown }; relay?: unknown } | null;
    if (!envelope || typeof envelope !== 'object' || !Number.isSafeInteger(envelope.relay)) {
      return { verdict: 'reject', reason: 'not a consensus envelope' };
    }
    const message = envelope.message;
    if (typeof message !== 'object' || message?.kind !== 'vote' || Object.keys(message).length !== 2)
      return { verdict: 'reject', reason: 'not a vote on the vote topic' };
    const decoded = decodeVote(message.vote);
    if (!decoded.ok) return { verdict: 'reject', reason: decoded.reason };
    const vote: ConsensusMessage = { kind: 'vote', vote: decoded.value };
    const admission = this.#admit(vote, from);
    if (admission.verdict !== 'accept') return admission;
    if (!voteSignatureValid(decoded.value, this.#remember))
      return { verdict: 'reject', reason: 'bad signature' };
    return { verdict: 'accept', value: { message: vote, relay: envelope.relay as number } };
  }

  /**
   * A compact proposal from `from`: shape (at most a block's worth of hashes), the host's
   * admission, that its sender is the proposer of its round, then the signature.
   */
  proposal(input: unknown, from: string): Judgement<ProposalEnvelope> {
    const envelope = input as Partial<ProposalEnvelope> | null;
    if (!envelope || typeof envelope !== 'object' || Object.keys(envelope).length !== 2)
      return { verdict: 'reject', reason: 'not a proposal envelope' };
    if (!Number.isSafeInteger(envelope.relay))
      return { verdict: 'reject', reason: 'not a proposal envelope' };
    const chain = this.#chain;
    const decoded = decodeCompactProposal(envelope.proposal, chain.rules.params.maxBlockTransactions);
    if (!decoded.ok) return { verdict: 'reject', reason: decoded.reason };
    const proposal = decoded.value;
    // Admission reads only chain, height and author, which the compact form carries as a full one does.
    const admission = this.#admit({ kind: 'proposal', proposal: proposal as never }, from);
    if (admission.verdict !== 'accept') return admission;
    if (
      scheduledProposer(proposal.height, proposal.round, chain.authoritiesAt(proposal.height)) !==
      proposal.proposer
    )
      return { verdict: 'reject', reason: 'proposer out of turn' };
    if (!compactSignatureValid(proposal, this.#remember))
      return { verdict: 'reject', reason: 'bad signature' };
    return { verdict: 'accept', value: { proposal, relay: envelope.relay as number } };
  }

  /** One message of a held-message answer, judged as the same message on its gossip topic. */
  held(input: unknown, from: string): Judgement<ProposalEnvelope> | Judgement<Envelope> {
    const m = input as { kind?: unknown; proposal?: unknown } | null;
    if (!m || typeof m !== 'object') return { verdict: 'reject', reason: 'not a consensus message' };
    if (m.kind === 'proposal') {
      if (Object.keys(m).length !== 2) return { verdict: 'reject', reason: 'not a proposal' };
      return this.proposal({ proposal: m.proposal, relay: 0 }, from);
    }
    return this.vote({ message: m, relay: 0 }, from);
  }

  /**
   * The engine's own signature check, run here once so an invalid message is never forwarded.
   * Only valid verdicts are remembered, keyed by everything the signature covers, so the engine
   * skips re-verifying exactly this message — and a reused signature on other bytes proves nothing.
   */
  readonly #remember: SignatureCheck = (key, bytes, signature) => {
    // A message seen before (a re-send after a stall, a held answer, or a copy in another
    // envelope) is not verified again.
    if (this.#verified.has(verdictKey(key, bytes, signature))) return true;
    const valid = verifySignature(key, bytes, signature);
    if (valid) {
      if (this.#verified.size > MAX_VERDICTS) this.#verified.clear();
      this.#verified.add(verdictKey(key, bytes, signature));
    }
    return valid;
  };
}
