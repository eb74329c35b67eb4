/**
 * The gateway's configuration: one typed object, read from a JSON file, overridable by environment
 * variables, validated before anything starts and printable without secrets. The file holds paths
 * and public facts only; the key store's passphrase comes from the environment (or a file the
 * operator mounts), never from the config file.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { TokenConfig } from '../node/custody/pkcs11-session.ts';
import type { Privilege } from './caller.ts';
import { ConfigError, isUrl, need, type Raw, section } from './config-check.ts';
import { type ConsoleConfig, consoleConfig } from './console/config.ts';
import { type DocumentsConfig, documentsConfig } from './documents/config.ts';
import { type EventsConfig, eventsConfig } from './events/config.ts';

export { ConfigError } from './config-check.ts';

export const TOPOLOGIES = ['local', 'federated', 'central', 'hybrid'] as const;
export type Topology = (typeof TOPOLOGIES)[number];

/** Gateway services: what a service agreement names (as the service platform's agreements do). */
export const SERVICES = ['contracts', 'reports', 'network', 'transactions', 'documents', 'events'] as const;
export type Service = (typeof SERVICES)[number];

export interface ServiceAgreement {
  /** The calling system: a token's entity id / client id, or a certificate's system id. */
  readonly system: string;
  readonly service: Service;
  /** The municipality or provider on whose behalf the system calls. */
  readonly cvr: string;
}

export interface MunicipalityRoute {
  readonly cvr: string;
  readonly name?: string;
  /** Node API URLs in order of preference; empty means the shared nodes (central, hybrid). */
  readonly nodes: readonly string[];
}

export interface GatewayConfig {
  readonly listen: { readonly host: string; readonly port: number };
  /** HTTPS. With `clientCaFiles`, clients may authenticate by certificate (mutual TLS). */
  readonly tls?: {
    readonly certFile: string;
    readonly keyFile: string;
    readonly clientCaFiles: readonly string[];
  };
  /** Bearer tokens from the municipal token service (STS). */
  readonly token?: {
    readonly issuer: string;
    readonly audience: string;
    readonly jwksUrl: string;
    /** CA bundle for the JWKS endpoint when it uses a private CA (an emulator, a test). */
    readonly jwksCaFile?: string;
    readonly clockToleranceSeconds: number;
  };
  /** Privileges of certificate callers, matched by system id or CVR; first match wins. */
  readonly certificatePrivileges: readonly {
    readonly system?: string;
    readonly cvr?: string;
    readonly privileges: readonly Privilege[];
  }[];
  /** Role-model URIs to the gateway's role names, e.g. `urn:dk:kombit:tillid:sagsbehandler` → `caseworker`. */
  readonly roleUris: Readonly<Record<string, string>>;
  readonly topology: Topology;
  readonly municipalities: readonly MunicipalityRoute[];
  /**
   * PEM CA that issues the node APIs' certificates (the consortium's, or the municipality's own
   * PKI): HTTPS node URLs must present a certificate from it. Absent: the system's public CAs.
   */
  readonly nodeCaFile?: string;
  /** Nodes of a centrally run network, used for CVRs without nodes of their own. */
  readonly sharedNodes: readonly string[];
  /** CVRs of providers the gateway acts for (they sign through their municipality's nodes). */
  readonly providers: readonly string[];
  readonly agreements: readonly ServiceAgreement[];
  /**
   * Directory of the encrypted key store (submitter keys and pseudonym secrets per CVR); also the
   * base the gateway's other files sit beside (its parent holds access-log/, citizens/, events/).
   */
  readonly keyStoreDir: string;
  /** An HSM instead: the keys and secrets live in this PKCS#11 token (gateway/keystore-hsm.ts). */
  readonly keyStoreHsm?: TokenConfig;
  /** The genesis the gateway trusts: the authority set commit certificates are checked against. */
  readonly genesisFile?: string;
  readonly auditFile?: string;
  readonly rateLimit: { readonly max: number; readonly timeWindowMs: number };
  readonly healthCheckIntervalMs: number;
  /** How often the access log's pending entries are committed in a Merkle root anchored on chain (gateway/access-log). */
  readonly accessLogAnchorMs: number;
  /** How long access-log entries are kept once anchored (days); older ones are erased, their roots stay verifiable. */
  readonly accessLogRetentionDays: number;
  readonly finalityTimeoutMs: number;
  readonly logLevel: string;
  /** The document plugin's section (gateway/documents/config.ts). */
  readonly documents?: DocumentsConfig;
  /** The event plugin's section (gateway/events/config.ts). */
  readonly events?: EventsConfig;
  /** The web console's section (gateway/console/config.ts); without it there is no console. */
  readonly console?: ConsoleConfig;
}

/** Secrets are kept apart from the printable config. */
export interface GatewaySecrets {
  readonly keyStorePassphrase: string;
}

export const GATEWAY_DEFAULTS = {
  listen: { host: '127.0.0.1', port: 8080 },
  rateLimit: { max: 20_000, timeWindowMs: 1000 },
  healthCheckIntervalMs: 1000,
  accessLogAnchorMs: 10_000,
  accessLogRetentionDays: 730,
  finalityTimeoutMs: 30_000,
  clockToleranceSeconds: 30,
  logLevel: 'info',
} as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const CVR = /^\d{8}$/;

/** Every key the file may hold; anything else is a start-up error naming it. */
const KEYS = [
  'listen',
  'tls',
  'token',
  'certificatePrivileges',
  'roleUris',
  'topology',
  'municipalities',
  'sharedNodes',
  'nodeCaFile',
  'providers',
  'agreements',
  'keyStoreDir',
  'keyStoreHsm',
  'genesisFile',
  'auditFile',
  'rateLimit',
  'healthCheckIntervalMs',
  'accessLogAnchorMs',
  'accessLogRetentionDays',
  'finalityTimeoutMs',
  'logLevel',
  'documents',
  'events',
  'console',
] as const;

/** Environment overrides, for operators who template containers rather than files. */
const ENV: Record<string, (c: Raw, v: string) => void> = {
  TILLID_GATEWAY_HOST: (c, v) => (c.listen = { ...c.listen, host: v }),
  TILLID_GATEWAY_PORT: (c, v) => (c.listen = { ...c.listen, port: Number(v) }),
  TILLID_GATEWAY_LOG_LEVEL: (c, v) => (c.logLevel = v),
  TILLID_GATEWAY_JWKS_URL: (c, v) => (c.token = { ...c.token, jwksUrl: v }),
  TILLID_GATEWAY_AUDIT_FILE: (c, v) => (c.auditFile = v),
  TILLID_GATEWAY_KEYSTORE_DIR: (c, v) => (c.keyStoreDir = v),
};

export function loadGatewayConfig(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): { config: GatewayConfig; secrets: GatewaySecrets } {
  let raw: Raw;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`cannot read gateway config ${file}: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ConfigError(`gateway config ${file} is not a JSON object`);
  for (const [name, apply] of Object.entries(ENV)) {
    const value = env[name];
    if (value !== undefined && value !== '') apply(raw, value);
  }
  const baseDir = dirname(resolve(file));
  const config = validateGatewayConfig(raw, baseDir);
  return { config, secrets: readSecrets(env) };
}

/** The key store passphrase: `TILLID_GATEWAY_KEYSTORE_PASSPHRASE`, or a file named by `…_FILE`. */
export function readSecrets(env: NodeJS.ProcessEnv): GatewaySecrets {
  const file = env.TILLID_GATEWAY_KEYSTORE_PASSPHRASE_FILE;
  const passphrase = file ? readFileSync(file, 'utf8').trim() : env.TILLID_GATEWAY_KEYSTORE_PASSPHRASE;
  if (!passphrase || passphrase.length < 12) {
    throw new ConfigError(
      'set TILLID_GATEWAY_KEYSTORE_PASSPHRASE (or …_PASSPHRASE_FILE) to the key store passphrase (at least 12 characters)',
    );
  }
  return { keyStorePassphrase: passphrase };
}

function privilegesOf(value: unknown, where: string) {
  need(Array.isArray(value), `${where} must be a list of { role, kle? }`);
  return (value as Raw[]).map((raw, i) => {
    const p = section(raw, `${where}[${i}]`, ['role', 'kle']);
    need(typeof p.role === 'string' && p.role !== '', `${where}[${i}].role`);
    if (p.kle !== undefined)
      need(
        Array.isArray(p.kle) && p.kle.every((k: unknown) => typeof k === 'string'),
        `${where}[${i}].kle must be a list of KLE codes`,
      );
    return p.kle ? { role: p.role as string, kle: [...p.kle] as string[] } : { role: p.role as string };
  });
}

export function validateGatewayConfig(input: Raw, baseDir: string): GatewayConfig {
  // A key set to undefined (a test's override, an env templating gap) counts as absent.
  const raw = section(JSON.parse(JSON.stringify(input)), '', KEYS);
  const path = (p: string) => resolve(baseDir, p);
  const listen = {
    ...GATEWAY_DEFAULTS.listen,
    ...section(raw.listen ?? {}, 'listen', ['host', 'port']),
  };
  need(typeof listen.host === 'string', 'listen.host must be a string');
  need(
    Number.isInteger(listen.port) && listen.port >= 0 && listen.port < 65536,
    'listen.port must be 0-65535',
  );

  let tls: GatewayConfig['tls'];
  if (raw.tls !== undefined) {
    section(raw.tls, 'tls', ['certFile', 'keyFile', 'clientCaFiles']);
    need(
      typeof raw.tls.certFile === 'string' && typeof raw.tls.keyFile === 'string',
      'tls.certFile and tls.keyFile',
    );
    const cas = raw.tls.clientCaFiles ?? [];
    need(Array.isArray(cas) && cas.every((f: unknown) => typeof f === 'string'), 'tls.clientCaFiles');
    tls = { certFile: path(raw.tls.certFile), keyFile: path(raw.tls.keyFile), clientCaFiles: cas.map(path) };
  }

  let token: GatewayConfig['token'];
  if (raw.token !== undefined) {
    const t = section(raw.token, 'token', [
      'issuer',
      'audience',
      'jwksUrl',
      'jwksCaFile',
      'clockToleranceSeconds',
    ]);
    need(typeof t.issuer === 'string' && t.issuer !== '', 'token.issuer');
    need(typeof t.audience === 'string' && t.audience !== '', 'token.audience (the gateway entity id)');
    need(isUrl(t.jwksUrl), 'token.jwksUrl must be an http(s) URL');
    const tolerance = t.clockToleranceSeconds ?? GATEWAY_DEFAULTS.clockToleranceSeconds;
    need(
      Number.isInteger(tolerance) && tolerance >= 0 && tolerance <= 300,
      'token.clockToleranceSeconds 0-300',
    );
    token = {
      issuer: t.issuer,
      audience: t.audience,
      jwksUrl: t.jwksUrl,
      ...(t.jwksCaFile ? { jwksCaFile: path(t.jwksCaFile) } : {}),
      clockToleranceSeconds: tolerance,
    };
  }
  need(
    token !== undefined || (tls?.clientCaFiles.length ?? 0) > 0,
    'configure token and/or tls.clientCaFiles: no way to authenticate',
  );

  const certificatePrivileges = ((raw.certificatePrivileges ?? []) as Raw[]).map((item, i) => {
    const entry = section(item, `certificatePrivileges[${i}]`, ['system', 'cvr', 'privileges']);
    if (entry.cvr !== undefined) need(CVR.test(entry.cvr), `certificatePrivileges[${i}].cvr`);
    return {
      ...(entry.system ? { system: String(entry.system) } : {}),
      ...(entry.cvr ? { cvr: String(entry.cvr) } : {}),
      privileges: privilegesOf(entry.privileges, `certificatePrivileges[${i}].privileges`),
    };
  });

  const roleUris = raw.roleUris ?? {};
  need(
    typeof roleUris === 'object' && Object.values(roleUris).every((v) => typeof v === 'string'),
    'roleUris maps role URIs to role names',
  );

  const topology = raw.topology ?? 'federated';
  need(TOPOLOGIES.includes(topology), `topology must be one of ${TOPOLOGIES.join(', ')}`);
  const sharedNodes = raw.sharedNodes ?? [];
  need(Array.isArray(sharedNodes) && sharedNodes.every(isUrl), 'sharedNodes must be node API URLs');
  need(Array.isArray(raw.municipalities) && raw.municipalities.length > 0, 'municipalities: at least one');
  const municipalities = (raw.municipalities as Raw[]).map((item, i) => {
    const m = section(item, `municipalities[${i}]`, ['cvr', 'name', 'nodes']);
    need(CVR.test(m.cvr), `municipalities[${i}].cvr must be 8 digits`);
    const nodes = m.nodes ?? [];
    need(Array.isArray(nodes) && nodes.every(isUrl), `municipalities[${i}].nodes must be node API URLs`);
    need(
      nodes.length > 0 || sharedNodes.length > 0,
      `municipalities[${i}] has no nodes and there are no sharedNodes`,
    );
    return {
      cvr: m.cvr as string,
      ...(m.name ? { name: String(m.name) } : {}),
      nodes: [...nodes] as string[],
    };
  });
  if (topology === 'local')
    need(municipalities.length === 1, 'topology local serves exactly one municipality');
  if (topology === 'central') need(sharedNodes.length > 0, 'topology central needs sharedNodes');
  if (raw.nodeCaFile !== undefined)
    need(typeof raw.nodeCaFile === 'string' && raw.nodeCaFile !== '', 'nodeCaFile must be a PEM file path');
  const providers = raw.providers ?? [];
  need(Array.isArray(providers) && providers.every((c: unknown) => CVR.test(String(c))), 'providers: CVRs');

  const agreements = ((raw.agreements ?? []) as Raw[]).map((item, i) => {
    const a = section(item, `agreements[${i}]`, ['system', 'service', 'cvr']);
    need(typeof a.system === 'string' && a.system !== '', `agreements[${i}].system`);
    need(SERVICES.includes(a.service), `agreements[${i}].service must be one of ${SERVICES.join(', ')}`);
    need(CVR.test(a.cvr), `agreements[${i}].cvr must be 8 digits`);
    return { system: a.system as string, service: a.service as Service, cvr: a.cvr as string };
  });

  need(typeof raw.keyStoreDir === 'string' && raw.keyStoreDir !== '', 'keyStoreDir is required');
  let keyStoreHsm: TokenConfig | undefined;
  if (raw.keyStoreHsm !== undefined) {
    const h = section(raw.keyStoreHsm, 'keyStoreHsm', ['module', 'token', 'pinFile']);
    for (const f of ['module', 'token', 'pinFile'])
      need(
        typeof h[f] === 'string' && h[f] !== '',
        `keyStoreHsm.${f} is required (a path, a token label, a PIN file)`,
      );
    keyStoreHsm = { module: h.module, token: h.token, pinFile: path(h.pinFile) };
  }
  const rateLimit = {
    ...GATEWAY_DEFAULTS.rateLimit,
    ...section(raw.rateLimit ?? {}, 'rateLimit', ['max', 'timeWindowMs']),
  };
  need(Number.isInteger(rateLimit.max) && rateLimit.max > 0, 'rateLimit.max');
  need(Number.isInteger(rateLimit.timeWindowMs) && rateLimit.timeWindowMs >= 100, 'rateLimit.timeWindowMs');
  const healthCheckIntervalMs = raw.healthCheckIntervalMs ?? GATEWAY_DEFAULTS.healthCheckIntervalMs;
  need(Number.isInteger(healthCheckIntervalMs) && healthCheckIntervalMs >= 50, 'healthCheckIntervalMs ≥ 50');
  const accessLogAnchorMs = raw.accessLogAnchorMs ?? GATEWAY_DEFAULTS.accessLogAnchorMs;
  need(Number.isInteger(accessLogAnchorMs) && accessLogAnchorMs >= 100, 'accessLogAnchorMs ≥ 100');
  const accessLogRetentionDays = raw.accessLogRetentionDays ?? GATEWAY_DEFAULTS.accessLogRetentionDays;
  need(
    Number.isInteger(accessLogRetentionDays) && accessLogRetentionDays >= 1,
    'accessLogRetentionDays must be a whole number of days ≥ 1',
  );
  const finalityTimeoutMs = raw.finalityTimeoutMs ?? GATEWAY_DEFAULTS.finalityTimeoutMs;
  need(Number.isInteger(finalityTimeoutMs) && finalityTimeoutMs >= 100, 'finalityTimeoutMs ≥ 100');
  const logLevel = raw.logLevel ?? GATEWAY_DEFAULTS.logLevel;
  need(LOG_LEVELS.includes(logLevel), `logLevel must be one of ${LOG_LEVELS.join(', ')}`);

  return {
    listen,
    ...(tls ? { tls } : {}),
    ...(token ? { token } : {}),
    certificatePrivileges,
    roleUris,
    topology,
    municipalities,
    sharedNodes,
    ...(raw.nodeCaFile ? { nodeCaFile: path(raw.nodeCaFile) } : {}),
    providers: providers.map(String),
    agreements,
    keyStoreDir: path(raw.keyStoreDir),
    ...(keyStoreHsm ? { keyStoreHsm } : {}),
    ...(raw.genesisFile ? { genesisFile: path(raw.genesisFile) } : {}),
    ...(raw.auditFile ? { auditFile: path(raw.auditFile) } : {}),
    rateLimit,
    healthCheckIntervalMs,
    accessLogAnchorMs,
    accessLogRetentionDays,
    finalityTimeoutMs,
    logLevel,
    ...(raw.documents !== undefined ? { documents: documentsConfig(raw.documents, path) } : {}),
    ...(raw.events !== undefined ? { events: eventsConfig(raw.events, path) } : {}),
    ...(raw.console !== undefined ? { console: consoleConfig(raw.console, path) } : {}),
  };
}

const SECRET_KEY = /secret|password|passphrase|token|privatekey/i;

/** A copy of plugin options fit for a log: secret-looking fields and URL credentials removed. */
function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (typeof value === 'string' && /^[a-z]+:\/\/[^/@]*:[^/@]*@/i.test(value))
    return value.replace(/\/\/([^/:@]*):[^/@]*@/, '//$1:[redacted]@');
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) ? '[redacted]' : redact(v)]),
  );
}

/** What main prints at start: the config with plugin secrets redacted, and which secrets are set. */
export const printable = (config: GatewayConfig) => ({
  ...config,
  ...(config.documents ? { documents: redact(config.documents) } : {}),
  ...(config.events ? { events: redact(config.events) } : {}),
  secrets: { keyStorePassphrase: '[set]' },
});
