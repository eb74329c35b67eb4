/** setTimeout behind the consensus host's timer interface (host-ports.ts), for production. */
import type { HostTimers } from './host-ports.ts';

export function realTimers(now: () => number): HostTimers & { clearAll(): void } {
  const pending = new Map<number, NodeJS.Timeout>();
  let next = 0;
  return {
    now,
    set(delayMs, run) {
      const id = next++;
      pending.set(
        id,
        setTimeout(() => {
          pending.delete(id);
          void run();
        }, delayMs),
      );
      return id;
    },
    clear(id) {
      clearTimeout(pending.get(id));
      pending.delete(id);
    },
    clearAll() {
      for (const t of pending.values()) clearTimeout(t);
      pending.clear();
    },
  };
}
