/**
 * What the benchmarks (bench:wan, bench:network, bench:idle, bench:topologies) read of each node
 * process from /proc, with no help from the node: CPU seconds (utime + stime of all its threads),
 * resident memory and where it goes, and the bytes through its network
 * namespace's interfaces. A node started by `ip netns exec` is that process (ip execs it), and
 * /proc/<pid>/net/dev shows the namespace the pid lives in, so the bytes are that host's own:
 * p2p traffic with every other host plus the API requests it serves, nothing of anyone else's.
 */
import { readFileSync } from 'node:fs';

/** utime + stime in seconds (fields 14 and 15 of proc_pid_stat(5), USER_HZ = 100). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** utime + stime in seconds of one thread (`tid`; the main thread's is the pid) of process `pid`. */
export function threadCpuSeconds(pid: number, tid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A /proc/<pid>/status size field (VmRSS, VmHWM, RssFile, …) in MB. */
export function statusMb(pid: number, field: string): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)?.[1] ?? 0) / 1024;
}

/** A /proc/<pid>/status count field (Threads). */
export function statusCount(pid: number, field: string): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)?.[1] ?? 0);
}

/**
 * A field of /proc/<pid>/smaps_rollup in MB: Pss (RSS with each shared page divided among the
 * processes that map it: the node binary's pages are shared by every node on a host), Anonymous
 * (the process's own memory: V8's heap, malloc, thread stacks), Private_Dirty, …
 */
export function smapsMb(pid: number, field: string): number {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0) / 1024;
}

/** Bytes and packets received plus sent on every interface but loopback of the pid's network namespace. */
export function netCounts(pid: number): { bytes: number; packets: number } {
  let bytes = 0;
  let packets = 0;
  for (const line of readFileSync(`/proc/${pid}/net/dev`, 'utf8').split('\n').slice(2)) {
    const [name, counters] = line.split(':');
    if (!counters || name?.trim() === 'lo') continue;
    const f = counters.trim().split(/\s+/);
    // Receive bytes and packets are the first two columns, transmit bytes and packets the 9th and 10th.
    bytes += Number(f[0]) + Number(f[8]);
    packets += Number(f[1]) + Number(f[9]);
  }
  return { bytes, packets };
}

/**
 * What one packet adds on a veth interface besides its payload: Ethernet 14 + IPv4 20 + TCP 32
 * (20 plus the timestamp option Linux sends by default). A bare ACK is this and nothing else.
 */
export const PACKET_HEADER_BYTES = 66;

export interface Sample {
  readonly cpu: number[];
  readonly bytes: number[];
  readonly packets: number[];
}

export const sample = (pids: readonly number[]): Sample => {
  const net = pids.map(netCounts);
  return { cpu: pids.map(cpuSeconds), bytes: net.map((c) => c.bytes), packets: net.map((c) => c.packets) };
};

export const since = (a: Sample, b: Sample): Sample => ({
  cpu: b.cpu.map((c, i) => c - (a.cpu[i] as number)),
  bytes: b.bytes.map((c, i) => c - (a.bytes[i] as number)),
  packets: b.packets.map((c, i) => c - (a.packets[i] as number)),
});

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** The p-th percentile of sorted values (nearest rank). */
export const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
