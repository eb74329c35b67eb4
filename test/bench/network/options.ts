/** bench:network's command line (see ../network.ts for what each option does). */
import { parseArgs } from 'node:util';

/**
 * verifyWorkers for every node: 1. Measured here, 4 nodes and this load generator on 2 shared
 * cores, two alternating runs each of 15 s saturating plus 200 tx/s offered: with 1 worker, finality
 * p50 391/508 ms and p99 779/876 ms against 1353/975 ms and 2366/2196 ms with 0, throughput
 * 233/243 against 200/200 tx/s, and slightly less node CPU per transaction. Verifying on the main
 * thread blocks the event loop for a whole admission burst (a 500-transaction batch, or the same
 * burst arriving by gossip, is ≈ 75 ms of Ed25519 at 150 µs each), which delays consensus votes and
 * proposals; on a worker the kernel time-slices it and the main thread keeps answering. The price
 * is a second V8 isolate while there is work (workers stop after 30 s without any).
 * `--verify-workers 0` measures the other choice.
 */
export const VERIFY_WORKERS = 1;
/** How long a phase waits for what it submitted to be final. */
export const DRAIN_MS = 60_000;

const { values } = parseArgs({
  options: {
    authorities: { type: 'string', default: '4' },
    duration: { type: 'string', default: '60' },
    rate: { type: 'string', default: '1000' },
    batch: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '1' },
    'max-pending': { type: 'string', default: '1000' },
    'latency-duration': { type: 'string', default: '20' },
    'latency-batch': { type: 'string', default: '10' },
    'verify-workers': { type: 'string', default: String(VERIFY_WORKERS) },
    'block-interval-ms': { type: 'string', default: '200' },
    // Phase A's supply: this many pre-signed transactions per second of --duration.
    'presign-rate': { type: 'string', default: '3000' },
    signers: { type: 'string', default: '4' },
    'idle-seconds': { type: 'string', default: '5' },
    timeout: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'log-dir': { type: 'string' },
  },
});
const int = (name: keyof typeof values, min: number): number => {
  const n = Number(values[name]);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} must be a whole number ≥ ${min}`);
  return n;
};
const batch = int('batch', 1);
const latencyDuration = int('latency-duration', 0);
const latencyBatch = int('latency-batch', 1);
if (batch > 1000 || latencyBatch > 1000) throw new Error('a batch holds at most 1000 (the API limit)');
const duration = int('duration', 1);

export const options = {
  authorities: int('authorities', 1),
  rate: int('rate', 0),
  concurrency: int('concurrency', 1),
  maxPending: Math.max(int('max-pending', 1), batch),
  verifyWorkers: int('verify-workers', 0),
  blockIntervalMs: int('block-interval-ms', 10),
  presignRate: int('presign-rate', 1),
  signerCount: int('signers', 1),
  idleSeconds: int('idle-seconds', 0),
  batch,
  latencyDuration,
  latencyBatch,
  duration,
  timeoutS: values.timeout ? int('timeout', 1) : duration + latencyDuration + 400,
  verbose: values.verbose,
  cpuProf: values['cpu-prof'],
  logDir: values['log-dir'],
};
