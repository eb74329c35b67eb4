/**
 * A node's configuration: one typed object, read from a JSON file, overridable by environment
 * variables (for containers), validated before anything starts, and printable without secrets
 * (the file holds paths to keys, never keys).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export interface NodeConfig {
  /** Display name for logs, e.g. the municipality. */
  readonly name: string;
  readonly genesisFile: string;
  readonly keyFile: string;
  readonly dataDir: string;
  readonly api: { readonly host: string; readonly port: number };
  readonly blockIntervalMs: number;
  /** Worker threads verifying signatures on admission; 0 verifies on the main thread. */
  readonly verifyWorkers: number;
  readonly mempool: { readonly maxTransactions: number; readonly maxBytes: number };
  readonly logLevel: string;
}

export const DEFAULTS = {
  api: { host: '127.0.0.1', port: 7101 },
  blockIntervalMs: 500,
  verifyWorkers: 2,
  mempool: { maxTransactions: 50_000, maxBytes: 64 * 1024 * 1024 },
  logLevel: 'info',
} as const;

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
  TILLID_DATA_DIR: (c: Record<string, any>, v: string) => (c.dataDir = v),
  TILLID_LOG_LEVEL: (c: Record<string, any>, v: string) => (c.logLevel = v),
  TILLID_VERIFY_WORKERS: (c: Record<string, any>, v: string) => (c.verifyWorkers = Number(v)),
  TILLID_BLOCK_INTERVAL_MS: (c: Record<string, any>, v: string) => (c.blockIntervalMs = Number(v)),
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
  for (const f of ['name', 'genesisFile', 'keyFile', 'dataDir'])
    need(typeof raw[f] === 'string' && raw[f] !== '', `${f} is required`);
  const api = { ...DEFAULTS.api, ...(raw.api ?? {}) };
  need(typeof api.host === 'string', 'api.host must be a string');
  need(Number.isInteger(api.port) && api.port >= 0 && api.port < 65536, 'api.port must be 0-65535');
  const blockIntervalMs = raw.blockIntervalMs ?? DEFAULTS.blockIntervalMs;
  need(
    Number.isInteger(blockIntervalMs) && blockIntervalMs >= 10 && blockIntervalMs <= 60_000,
    'blockIntervalMs must be 10-60000',
  );
  const verifyWorkers = raw.verifyWorkers ?? DEFAULTS.verifyWorkers;
  need(
    Number.isInteger(verifyWorkers) && verifyWorkers >= 0 && verifyWorkers <= 16,
    'verifyWorkers must be 0-16',
  );
  const mempool = { ...DEFAULTS.mempool, ...(raw.mempool ?? {}) };
  need(Number.isInteger(mempool.maxTransactions) && mempool.maxTransactions > 0, 'mempool.maxTransactions');
  need(Number.isInteger(mempool.maxBytes) && mempool.maxBytes > 0, 'mempool.maxBytes');
  const logLevel = raw.logLevel ?? DEFAULTS.logLevel;
  need(LOG_LEVELS.includes(logLevel), `logLevel must be one of ${LOG_LEVELS.join(', ')}`);
  return {
    name: raw.name,
    genesisFile: resolve(baseDir, raw.genesisFile),
    keyFile: resolve(baseDir, raw.keyFile),
    dataDir: resolve(baseDir, raw.dataDir),
    api,
    blockIntervalMs,
    verifyWorkers,
    mempool,
    logLevel,
  };
}
