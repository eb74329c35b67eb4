/**
 * Catching up by block sync, for the consensus host: which peers are ahead (from their status or
 * their messages for later heights), which one to ask, one request at a time with a deadline (a peer
 * that lets it pass is forgotten until it tells its head again), and
 * the check every synced block passes before it is committed — decodes, is the next height,
 * executes to the state root it claims, and carries a valid certificate of the authorities there.
 * Deterministic: peers are chosen by height, ties by the order in which they were first noted.
 */
import type { Chain } from '../chain/chain.ts';
import { type Block, certificateProblem, decodeBlock } from '../protocol/block.ts';

export class CatchUp {
  readonly #heads = new Map<string, number>();
  #pending: { peer: string; until: number } | undefined;
  readonly #now: () => number;
  readonly #timeoutMs: number;
  readonly #ask: (peer: string, fromHeight: number) => void;

  constructor(now: () => number, timeoutMs: number, ask: (peer: string, fromHeight: number) => void) {
    this.#now = now;
    this.#timeoutMs = timeoutMs;
    this.#ask = ask;
  }

  /** Records that `peer` holds `height`; false if we knew as much already. */
  note(peer: string, height: number): boolean {
    if (height <= (this.#heads.get(peer) ?? -1)) return false;
    this.#heads.set(peer, height);
    return true;
  }

  /** A peer that failed to serve, served nothing or served an invalid block is not asked again for now. */
  forget(peer: string): void {
    this.#heads.delete(peer);
    this.answered(peer);
  }

  answered(peer: string): void {
    if (this.#pending?.peer === peer) this.#pending = undefined;
  }

  ahead(head: number): boolean {
    for (const h of this.#heads.values()) if (h > head) return true;
    return false;
  }

  /** Asks the highest peer above `head` for blocks, unless a request is still within its deadline. */
  request(head: number): void {
    const now = this.#now();
    if (this.#pending && now < this.#pending.until) return;
    // A peer that let its request pass the deadline is not asked again until it tells its head
    // anew — as production's failed fetch does (onSyncFailed) — or a node keeps asking a dead
    // peer that was first to claim the highest head, and never catches up from the live ones.
    if (this.#pending) this.forget(this.#pending.peer);
    let best: string | undefined;
    let bestHeight = head;
    for (const [peer, h] of this.#heads) {
      if (h > bestHeight) {
        best = peer;
        bestHeight = h;
      }
    }
    if (best === undefined) return;
    this.#pending = { peer: best, until: now + this.#timeoutMs };
    this.#ask(best, head + 1);
  }
}

/**
 * A synced block checked against the chain: ready to commit, already there (consensus got there
 * first), or what is wrong with it — which makes the peer that served it provably faulty.
 */
export function checkSyncedBlock(
  chain: Chain,
  input: unknown,
):
  | { ok: true; block: Block; execution: ReturnType<Chain['validate']> }
  | { ok: false; problem: string | undefined } {
  let block: Block;
  try {
    block = decodeBlock(input);
  } catch (e) {
    return { ok: false, problem: (e as Error).message };
  }
  const height = block.header.height;
  if (height <= chain.head.height) return { ok: false, problem: undefined };
  if (height !== chain.head.height + 1) return { ok: false, problem: `block ${height} out of order` };
  try {
    const execution = chain.validate(block);
    const problem = certificateProblem(block.certificate, block.header, chain.authoritiesAt(height));
    if (problem) throw new Error(problem);
    return { ok: true, block, execution };
  } catch (e) {
    return { ok: false, problem: `block ${height}: ${(e as Error).message}` };
  }
}
