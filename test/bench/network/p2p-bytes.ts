/**
 * TCP bytes each node process has had acknowledged on its libp2p connections (bench:network's
 * bytes per block): a connection is libp2p traffic when either end is one of the nodes' p2p
 * listen ports. Read from `ss -ti` every second, each connection counted by its growth since the
 * last sample, so a connection that is replaced (a redial) neither resets the count nor is counted
 * twice. What a connection sends in its last second before closing is lost.
 */
import { execFileSync } from 'node:child_process';

export class P2pBytes {
  readonly #pids: readonly number[];
  readonly #ports: ReadonlySet<number>;
  readonly #lastAcked = new Map<string, number>();
  readonly #sentByPid = new Map<number, number>();
  readonly #timer: NodeJS.Timeout;

  constructor(pids: readonly number[], p2pPorts: ReadonlySet<number>) {
    this.#pids = pids;
    this.#ports = p2pPorts;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), 1000);
    this.#timer.unref();
  }

  /** Bytes sent per node (in the order of the pids) since the start. */
  now(): number[] {
    this.#sample();
    return this.#pids.map((pid) => this.#sentByPid.get(pid) ?? 0);
  }

  since(before: readonly number[]): number[] {
    return this.now().map((b, i) => b - (before[i] as number));
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #sample(): void {
    let text = '';
    try {
      text = execFileSync('ss', ['-tinpH', 'state', 'established'], { encoding: 'utf8' });
    } catch {
      return;
    }
    const lines = text.split('\n');
    for (let i = 0; i + 1 < lines.length; i++) {
      const m = /(\S+:(\d+))\s+(\S+:(\d+))\s+users:.*pid=(\d+)/.exec(lines[i] as string);
      if (!m) continue;
      const acked = /bytes_acked:(\d+)/.exec(lines[i + 1] as string);
      if (!acked || !(this.#ports.has(Number(m[2])) || this.#ports.has(Number(m[4])))) continue;
      const pid = Number(m[5]);
      const key = `${pid} ${m[1]} ${m[3]}`;
      const now = Number(acked[1]);
      const before = this.#lastAcked.get(key) ?? 0;
      this.#lastAcked.set(key, now);
      this.#sentByPid.set(pid, (this.#sentByPid.get(pid) ?? 0) + Math.max(0, now - before));
    }
  }
}
