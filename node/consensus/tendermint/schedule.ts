/**
 * Who proposes: plain round-robin over the authorities sorted by public key. Every node derives
 * the same order from the genesis without agreeing on anything else, and rotating with the round
 * as well as the height means a silent or faulty proposer costs one round, not a height.
 */
import type { Hex } from '../../protocol/hash.ts';

/** The authorities in schedule order (ascending public key). Returns a new array. */
export const scheduleOrder = (authorities: readonly Hex[]): Hex[] =>
  [...authorities].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** proposer(h, r) of the paper: `ordered` must come from scheduleOrder. */
export function proposerIn(ordered: readonly Hex[], height: number, round: number): Hex {
  if (ordered.length === 0) throw new Error('no authorities');
  return ordered[(height + round) % ordered.length] as Hex;
}

/** proposer(h, r) for an unsorted authority list. */
export const proposer = (height: number, round: number, authorities: readonly Hex[]): Hex =>
  proposerIn(scheduleOrder(authorities), height, round);
