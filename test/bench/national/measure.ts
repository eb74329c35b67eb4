/**
 * What one node process costs, read from outside it: CPU seconds (utime + stime, all threads, from
 * /proc), RSS now and at its peak (VmRSS, VmHWM), the size of its data directory (`du`), and the
 * bytes it has sent to its peers — the `bytes_sent` of its established TCP sockets to or from a
 * node's p2p port (`ss -tinp`, kernel counters); its API sockets, which carry this benchmark's
 * requests rather than the network's traffic, are not among them.
 *
 * Socket counters live as long as the socket: a connection that closes takes its count with it.
 * libp2p keeps its peer connections open for the whole run, so the sum grows monotonically; a
 * window whose sum went down (a reconnection) is reported as unknown, not as negative traffic.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Sample {
  readonly cpuSeconds: number;
  readonly rssMb: number;
  readonly peakRssMb: number;
  readonly diskBytes: number;
  readonly bytesSent: number;
}

export interface Probe {
  readonly pid: number;
  /** The port the node's libp2p listens on; absent for a node without peers. */
  readonly p2pPort: number | undefined;
  readonly dataDir: string;
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // proc_pid_stat(5) fields 14 and 15, utime and stime, in clock ticks (USER_HZ = 100).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function memoryMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
}

/**
 * `du -sb dir`. A running node replaces files by rename (its signed-vote log's `.tmp`), so a file
 * du listed can be gone when it reads it: du then exits 1 but still prints the total of what it
 * could read, which is the size (the vanished file was renamed onto one du counts). Only a
 * missing total is an error.
 */
export const du = (dir: string): number => {
  let out: string;
  try {
    out = execFileSync('du', ['-sb', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    out = String((e as { stdout?: string }).stdout ?? '');
  }
  const total = Number(/^(\d+)\t/m.exec(out)?.[1]);
  if (!Number.isFinite(total)) throw new Error(`du -sb ${dir} gave no total`);
  return total;
};

/**
 * bytes_sent per pid over its established TCP sockets to or from the nodes' p2p ports (one `ss`
 * call, filtered in the kernel: the machine may hold many other sockets).
 */
export function bytesSentByPid(probes: readonly Probe[]): Map<number, number> {
  const sent = new Map<number, number>();
  const ports = probes.flatMap((p) => (p.p2pPort ? [p.p2pPort] : []));
  if (ports.length === 0) return sent; // a single-authority chain has no peers
  const filter = `( ${ports.map((p) => `sport = :${p} or dport = :${p}`).join(' or ')} )`;
  const text = execFileSync('ss', ['-tinpH', 'state', 'established', filter], {
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  const pids = new Set(probes.map((p) => p.pid));
  // ss prints each socket on one line and its counters on the next (indented).
  const lines = text.split('\n');
  for (let i = 0; i < lines.length - 1; i++) {
    const pid = Number(/pid=(\d+)/.exec(lines[i] as string)?.[1]);
    if (!pids.has(pid)) continue;
    const bytes = Number(/bytes_sent:(\d+)/.exec(lines[i + 1] as string)?.[1] ?? 0);
    sent.set(pid, (sent.get(pid) ?? 0) + bytes);
  }
  return sent;
}

export function sample(probes: readonly Probe[]): Sample[] {
  const sent = bytesSentByPid(probes);
  return probes.map((p) => ({
    cpuSeconds: cpuSeconds(p.pid),
    rssMb: memoryMb(p.pid, 'VmRSS'),
    peakRssMb: memoryMb(p.pid, 'VmHWM'),
    diskBytes: du(p.dataDir),
    bytesSent: sent.get(p.pid) ?? 0,
  }));
}

export interface Delta {
  cpuSeconds: number;
  diskBytes: number;
  /** NaN when a connection closed inside the window (see above). */
  bytesSent: number;
}

export function delta(before: readonly Sample[], after: readonly Sample[]): Delta[] {
  return after.map((a, i) => {
    const b = before[i] as Sample;
    const sent = a.bytesSent - b.bytesSent;
    return {
      cpuSeconds: a.cpuSeconds - b.cpuSeconds,
      diskBytes: a.diskBytes - b.diskBytes,
      bytesSent: sent >= 0 ? sent : Number.NaN,
    };
  });
}
