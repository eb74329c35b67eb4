/**
 * A node's configuration: one typed object, read from a JSON file, overridable by environment
 * variables (for containers), validated before anything starts, and printable without secrets
 * (the file holds paths to keys, never keys).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { HsmConfig } from './custody/pkcs11.ts';

export interface NodeConfig {
  /** Display name for logs, e.g. the municipality. */
  readonly name: string;
  readonly genesisFile: string;
  /** The node's key file (encrypted: node/custody/key-file.ts); absent when the key is in an HSM. */
  readonly keyFile?: string;
  /** The file holding the key file's passphrase (or TILLID_PASSPHRASE_FILE, or the secret path). */
  readonly passphraseFile?: string;
  /** The node's key in an HSM through PKCS#11 instead of a key file (node/custody/pkcs11.ts). */
  readonly hsm?: HsmConfig;
  readonly dataDir: string;
  /**
   * The HTTP API. `host` is the bind address: 127.0.0.1 for a node only its own operators reach,
   * 0.0.0.0 (or a public interface) for one other organisations' gateways and CLIs reach — then
   * with `tls` (PEM file paths; the certificate's names must cover the address they dial).
   */
  readonly api: {
    readonly host: string;
    readonly port: number;
    readonly tls?: { readonly cert: string; readonly key: string };
  };
  readonly blockIntervalMs: number;
  /**
   * With nothing to include, how long to wait before an empty block. Default 10 minutes (never
   * below blockIntervalMs): on a block-time chain nothing needs an empty block sooner — due dates
   * are days apart and everything else arrives as a transaction, which ends the wait — and each
   * empty block costs every node a consensus round, signatures and an fsync. README.md, "Empty
   * blocks", gives the reasoning; a development chain on the accelerated business clock sets it
   * to blockIntervalMs, because there blocks are business time.
   */
  readonly emptyBlockIntervalMs: number;
  /**
   * Worker threads verifying signatures on admission; 0 verifies on the main thread. Each costs
   * about 23 MB of RSS; two pay off only when the node has the machine to itself.
   */
  readonly verifyWorkers: number;
  readonly mempool: { readonly maxTransactions: number; readonly maxBytes: number };
  readonly logLevel: string;
  /**
   * Peer-to-peer networking; needed by every node of a consortium network (more than one
   * authority, or an observer). A single-authority local chain runs without it.
   */
  readonly p2p?: {
    /** Multiaddrs to listen on, e.g. /ip4/0.0.0.0/tcp/7201. */
    readonly listen: readonly string[];
    /**
     * What this node advertises to its peers instead of its listen addresses: its public address
     * (e.g. /dns4/node.kommune.dk/tcp/7201), so peers never learn 0.0.0.0 or 127.0.0.1 from it.
     * Empty: the listen addresses, as libp2p resolves them.
     */
    readonly announce?: readonly string[];
    /** Multiaddrs of the other nodes, each ending in /p2p/<peer id>. */
    readonly peers: readonly string[];
    /** Public keys of non-voting observer nodes allowed to connect, besides the authorities. */
    readonly observers: readonly string[];
  };
  /**
   * Heights of old state trees kept for proofs (node/chain/pruning.ts): a proof at a height more
   * than this far below the head is refused with STATE_PRUNED. It must cover how far behind a
   * gateway reading this node's block receipts may fall. Absent: every version is kept.
   */
  readonly stateRetention?: number;
  /** Consensus timeouts in ms (base, and added per round); defaults suit a LAN or a region. */
  readonly timeouts?: {
    readonly proposeMs: number;
    readonly prevoteMs: number;
    readonly precommitMs: number;
    readonly perRoundMs: number;
  };
}

export const DEFAULTS = {
  api: { host: '127.0.0.1', port: 7101 },
  blockIntervalMs: 500,
  emptyBlockIntervalMs: 600_000,
  verifyWorkers: 1,
  mempool: { maxTransactions: 50_000, maxBytes: 64 * 1024 * 1024 },
  logLevel: 'info',
} as const;

/** Without a setting, the empty-block interval is the default, or the block interval if that is longer. */
export const defaultEmptyBlockIntervalMs = (blockIntervalMs: number): number =>
  Math.max(DEFAULTS.emptyBlockIntervalMs, blockIntervalMs);

/** What is wrong with a block pacing, if anything: a node's own config, or one `network join` copies. */
export function pacingProblem(blockIntervalMs: unknown, emptyBlockIntervalMs: unknown): string | undefined {
  const block = blockIntervalMs as number;
  const empty = emptyBlockIntervalMs as number;
  if (!(Number.isInteger(block) && block >= 10 && block <= 60_000)) return 'blockIntervalMs must be 10-60000';
  if (!(Number.isInteger(empty) && empty >= block && empty <= 3_600_000))
    return 'emptyBlockIntervalMs must be at least blockIntervalMs and at most an hour';
  return undefined;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Environment overrides, for operators who template containers rather than files. */
const ENV = {
  TILLID_API_HOST: (c: Record<string, any>, v: string) => (c.api = { ...c.api, host: v }),
  TILLID_API_PORT: (c: Record<string, any>, v: string) => (c.api = { ...c.api, port: Number(v) }),
  TILLID_P2P_ANNOUNCE: (c: Record<string, any>, v: string) =>
    (c.p2p = { ...c.p2p, announce: v.split(',').map((a) => a.trim()) }),
  TILLID_DATA_DIR: (c: Record<string, any>, v: string) => (c.dataDir = v),
  TILLID_KEY_FILE: (c: Record<string, any>, v: string) => (c.keyFile = v),
  TILLID_LOG_LEVEL: (c: Record<string, any>, v: string) => (c.logLevel = v),
  TILLID_VERIFY_WORKERS: (c: Record<string, any>, v: string) => (c.verifyWorkers = Number(v)),
  TILLID_BLOCK_INTERVAL_MS: (c: Record<string, any>, v: string) => (c.blockIntervalMs = Number(v)),
  TILLID_EMPTY_BLOCK_INTERVAL_MS: (c: Record<string, any>, v: string) => (c.emptyBlockIntervalMs = Number(v)),
  TILLID_STATE_RETENTION: (c: Record<string, any>, v: string) => (c.stateRetention = Number(v)),
  // Names the file (a Docker or Kubernetes secret); the passphrase itself never goes in the environment.
  TILLID_PASSPHRASE_FILE: (c: Record<string, any>, v: string) => (c.passphraseFile = v),
} as const;

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  let raw: Record<string, any>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`cannot read config ${file}: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null) throw new ConfigError(`config ${file} is not a JSON object`);
  for (const [name, apply] of Object.entries(ENV)) {
    const value = env[name];
    if (value !== undefined && value !== '') apply(raw, value);
  }
  const base = dirname(resolve(file));
  return validateConfig(raw, base);
}

export function validateConfig(raw: Record<string, any>, baseDir: string): NodeConfig {
  const need = (ok: boolean, what: string) => {
    if (!ok) throw new ConfigError(`config: ${what}`);
  };
  for (const f of ['name', 'genesisFile', 'dataDir'])
    need(typeof raw[f] === 'string' && raw[f] !== '', `${f} is required`);
  let hsm: HsmConfig | undefined;
  if (raw.hsm !== undefined) {
    const h = raw.hsm ?? {};
    for (const f of ['module', 'token', 'keyLabel', 'pinFile'])
      need(
        typeof h[f] === 'string' && h[f] !== '',
        `hsm.${f} is required (module, token, keyLabel, pinFile)`,
      );
    need(raw.keyFile === undefined, 'give either keyFile or hsm, not both');
    hsm = { module: h.module, token: h.token, keyLabel: h.keyLabel, pinFile: resolve(baseDir, h.pinFile) };
  } else {
    need(typeof raw.keyFile === 'string' && raw.keyFile !== '', 'keyFile (or hsm) is required');
  }
  need(
    raw.passphraseFile === undefined || (typeof raw.passphraseFile === 'string' && raw.passphraseFile !== ''),
    'passphraseFile must be a path',
  );
  const api = { ...DEFAULTS.api, ...(raw.api ?? {}) };
  need(typeof api.host === 'string', 'api.host must be a string');
  need(Number.isInteger(api.port) && api.port >= 0 && api.port < 65536, 'api.port must be 0-65535');
  if (api.tls !== undefined) {
    const t = api.tls;
    need(
      typeof t === 'object' && t !== null && typeof t.cert === 'string' && typeof t.key === 'string',
      'api.tls must be { cert, key }: paths of a PEM certificate (chain) and its private key',
    );
    api.tls = { cert: resolve(baseDir, t.cert), key: resolve(baseDir, t.key) };
  }
  const blockIntervalMs = raw.blockIntervalMs ?? DEFAULTS.blockIntervalMs;
  const emptyBlockIntervalMs = raw.emptyBlockIntervalMs ?? defaultEmptyBlockIntervalMs(blockIntervalMs);
  const pacing = pacingProblem(blockIntervalMs, emptyBlockIntervalMs);
  need(pacing === undefined, pacing as string);
  const verifyWorkers = raw.verifyWorkers ?? DEFAULTS.verifyWorkers;
  need(
    Number.isInteger(verifyWorkers) && verifyWorkers >= 0 && verifyWorkers <= 16,
    'verifyWorkers must be 0-16',
  );
  const mempool = { ...DEFAULTS.mempool, ...(raw.mempool ?? {}) };
  need(Number.isInteger(mempool.maxTransactions) && mempool.maxTransactions > 0, 'mempool.maxTransactions');
  need(Number.isInteger(mempool.maxBytes) && mempool.maxBytes > 0, 'mempool.maxBytes');
  const stateRetention = raw.stateRetention;
  need(
    stateRetention === undefined || (Number.isInteger(stateRetention) && stateRetention >= 1),
    'stateRetention must be a whole number of heights, at least 1 (or absent: keep every version)',
  );
  const logLevel = raw.logLevel ?? DEFAULTS.logLevel;
  need(LOG_LEVELS.includes(logLevel), `logLevel must be one of ${LOG_LEVELS.join(', ')}`);
  let p2p: NodeConfig['p2p'];
  if (raw.p2p !== undefined) {
    const listen = raw.p2p.listen ?? [];
    const peers = raw.p2p.peers ?? [];
    const announce = raw.p2p.announce ?? [];
    const observers = raw.p2p.observers ?? [];
    const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
    need(strings(listen) && listen.length > 0, 'p2p.listen must list at least one multiaddr');
    need(strings(peers), 'p2p.peers must be a list of multiaddrs');
    need(
      strings(announce) && announce.every((a: string) => a.startsWith('/') && !a.includes('/p2p/')),
      "p2p.announce must be a list of multiaddrs without /p2p/ (this node's public addresses)",
    );
    need(
      strings(observers) && observers.every((k: string) => /^[0-9a-f]{64}$/.test(k)),
      'p2p.observers must be public keys (hex)',
    );
    p2p = { listen, announce, peers, observers };
  }
  let timeouts: NodeConfig['timeouts'];
  if (raw.timeouts !== undefined) {
    const t = raw.timeouts;
    for (const f of ['proposeMs', 'prevoteMs', 'precommitMs', 'perRoundMs']) {
      need(Number.isInteger(t[f]) && t[f] >= 1 && t[f] <= 600_000, `timeouts.${f} must be 1-600000`);
    }
    timeouts = t;
  }
  return {
    name: raw.name,
    ...(p2p ? { p2p } : {}),
    ...(timeouts ? { timeouts } : {}),
    genesisFile: resolve(baseDir, raw.genesisFile),
    ...(hsm ? { hsm } : { keyFile: resolve(baseDir, raw.keyFile) }),
    ...(raw.passphraseFile ? { passphraseFile: resolve(baseDir, raw.passphraseFile) } : {}),
    dataDir: resolve(baseDir, raw.dataDir),
    api,
    blockIntervalMs,
    emptyBlockIntervalMs,
    verifyWorkers,
    mempool,
    logLevel,
    ...(stateRetention !== undefined ? { stateRetention } : {}),
  };
}

/** The engine's timeouts (tendermint/engine.ts) from the configured ones: each grows by perRoundMs a round. */
export function engineTimeouts(t: NonNullable<NodeConfig['timeouts']>) {
  return {
    propose: { baseMs: t.proposeMs, perRoundMs: t.perRoundMs },
    prevote: { baseMs: t.prevoteMs, perRoundMs: t.perRoundMs },
    precommit: { baseMs: t.precommitMs, perRoundMs: t.perRoundMs },
  };
}
