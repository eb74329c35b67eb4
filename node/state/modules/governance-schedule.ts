/**
 * The authority-set schedule (`governance/schedule` in state): the genesis set from height 1, then
 * one entry per change, each effective MEMBERSHIP_DELAY blocks after the block that decided it, so
 * every node knows a height's authority set before it starts that height and the set at every
 * height is derivable from the chain. Consensus, block validation, `chain verify`, proven reads
 * and the connection gater all read the set from here.
 */
import type { Json } from '../../protocol/canonical.ts';
import type { Authority, Genesis } from '../../protocol/genesis.ts';
import type { StateReader, StateWriter } from '../module.ts';

export const MEMBERSHIP_DELAY = 2;

export interface ScheduledSet {
  /** First height at which these authorities finalize blocks. */
  readonly fromHeight: number;
  readonly authorities: readonly Authority[];
}

export const SCHEDULE_KEY = 'governance/schedule';

/** The authority-set schedule: the genesis set from height 1, then every approved change. */
export function authoritySchedule(state: StateReader, genesis: Genesis): ScheduledSet[] {
  const stored = state.get(SCHEDULE_KEY) as unknown as ScheduledSet[] | undefined;
  return stored ?? [{ fromHeight: 1, authorities: genesis.authorities }];
}

/** The authorities whose signatures finalize the block at `height`. */
export function authoritiesAt(state: StateReader, genesis: Genesis, height: number): readonly Authority[] {
  let current = genesis.authorities;
  for (const entry of authoritySchedule(state, genesis))
    if (entry.fromHeight <= height) current = entry.authorities;
  return current;
}

/**
 * Schedules the set `change` makes of the latest scheduled set, effective MEMBERSHIP_DELAY blocks
 * after `height`, and returns that height. Every change — add, remove, rotate — goes through here,
 * so changes decided in one block compose in transaction order.
 */
export function scheduleChange(
  state: StateWriter,
  genesis: Genesis,
  height: number,
  change: (latest: readonly Authority[]) => Authority[],
): number {
  const schedule = authoritySchedule(state, genesis);
  const effectiveFrom = height + MEMBERSHIP_DELAY;
  const next = change((schedule[schedule.length - 1] as ScheduledSet).authorities);
  const kept = schedule.filter((e) => e.fromHeight !== effectiveFrom);
  state.set(SCHEDULE_KEY, [...kept, { fromHeight: effectiveFrom, authorities: next }] as unknown as Json);
  return effectiveFrom;
}
