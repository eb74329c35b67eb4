/**
 * bench:network's finality follower: walks node 1's blocks (GET /v1/blocks/:height) from the
 * height after `from`, and stamps each of the run's transactions (its ref `urn:bench:<run>:<i>`)
 * with the moment this process saw the block holding it.
 */
export interface Follower {
  /** When transaction i was seen final (performance.now()), 0 while it is not. */
  readonly finalizedAt: Float64Array;
  /**
   * When the block holding transaction i was proposed: its header's timestamp (the proposer's
   * Date.now()) on this process's performance.now() timeline — every process here shares the
   * machine's clock. 0 while it is not final.
   */
  readonly proposedAt: Float64Array;
  /** Every block seen, in order: when, and how many transactions it held. */
  readonly blocks: { at: number; transactions: number }[];
  /** How many of the run's transactions have been seen final. */
  finalized(): number;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function follow(
  url: string,
  run: string,
  total: number,
  from: number,
  onBlock?: (height: number, transactions: number) => void,
): Follower {
  const finalizedAt = new Float64Array(total);
  const proposedAt = new Float64Array(total);
  const blocks: { at: number; transactions: number }[] = [];
  const refPrefix = `urn:bench:${run}:`;
  let count = 0;
  let following = true;
  const done = (async () => {
    let next = from + 1;
    while (following) {
      let response: Response;
      try {
        response = await fetch(`${url}/v1/blocks/${next}`);
      } catch {
        await sleep(50);
        continue;
      }
      if (response.status === 404) {
        await response.arrayBuffer();
        await sleep(10);
        continue;
      }
      const block = (await response.json()) as {
        header: { timestamp: number };
        transactions: { payload: { ref?: unknown } }[];
      };
      const proposed = block.header.timestamp - performance.timeOrigin;
      const now = performance.now();
      for (const tx of block.transactions) {
        const ref = tx.payload.ref;
        if (typeof ref !== 'string' || !ref.startsWith(refPrefix)) continue;
        const i = Number(ref.slice(refPrefix.length));
        if (finalizedAt[i] === 0) {
          finalizedAt[i] = now;
          proposedAt[i] = proposed;
          count++;
        }
      }
      blocks.push({ at: now, transactions: block.transactions.length });
      onBlock?.(next, block.transactions.length);
      next++;
    }
  })();
  return {
    finalizedAt,
    proposedAt,
    blocks,
    finalized: () => count,
    stop: async () => {
      following = false;
      await done;
    },
  };
}
