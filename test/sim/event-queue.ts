/**
 * The simulator's virtual clock: a binary min-heap of events ordered by (time, sequence number).
 * The sequence number breaks ties in insertion order, so two events at the same instant are always
 * handled in the same order and a run is reproducible.
 */
interface Entry<T> {
  readonly time: number;
  readonly seq: number;
  readonly event: T;
}

export class EventQueue<T> {
  readonly #heap: Entry<T>[] = [];
  #seq = 0;
  #now = 0;

  get now(): number {
    return this.#now;
  }
  get size(): number {
    return this.#heap.length;
  }

  /** Schedules `event` at `now + delay` (never in the past). */
  schedule(delay: number, event: T): void {
    this.#push({ time: this.#now + Math.max(0, delay), seq: this.#seq++, event });
  }

  /** Removes the earliest event and advances the clock to it. */
  pop(): { time: number; event: T } | undefined {
    const heap = this.#heap;
    const top = heap[0];
    if (!top) return undefined;
    const last = heap.pop() as Entry<T>;
    if (heap.length > 0) {
      heap[0] = last;
      this.#down(0);
    }
    this.#now = top.time;
    return { time: top.time, event: top.event };
  }

  #less(a: Entry<T>, b: Entry<T>): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  #push(entry: Entry<T>): void {
    const heap = this.#heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(heap[i] as Entry<T>, heap[parent] as Entry<T>)) break;
      [heap[i], heap[parent]] = [heap[parent] as Entry<T>, heap[i] as Entry<T>];
      i = parent;
    }
  }

  #down(i: number): void {
    const heap = this.#heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < heap.length && this.#less(heap[l] as Entry<T>, heap[smallest] as Entry<T>)) smallest = l;
      if (r < heap.length && this.#less(heap[r] as Entry<T>, heap[smallest] as Entry<T>)) smallest = r;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest] as Entry<T>, heap[i] as Entry<T>];
      i = smallest;
    }
  }
}
