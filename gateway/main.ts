/**
 * `node gateway/main.ts --config <file>`: run the gateway. Also
 * `node gateway/main.ts keys create --dir <key store> --cvr <CVR>` (or `--hsm <token.json>` instead of
 * `--dir`): generate a submitter key and pseudonym secret for a municipality or provider in the
 * encrypted key store or inside an HSM, printing only the public key (to register on chain with
 * `party.register` / `party.addKey`); and `keys import-to-hsm --dir <key store> --hsm <token.json>`:
 * move a file store's keys and secrets into an HSM unchanged (pseudonyms stay the same).
 * `<token.json>` is `{ "hsm": { module, token, pinFile } }`, pinFile relative to it.
 */

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { TokenConfig } from '../node/custody/pkcs11-session.ts';
import { createLogger, type Logger } from '../node/log.ts';
import { decodeGenesis } from '../node/protocol/genesis.ts';
import { type AuditSink, FileAuditSink, MemoryAuditSink } from './audit.ts';
import { TokenVerifier } from './auth/token.ts';
import type { CaseSystem } from './citizens/case-system.ts';
import {
  ConfigError,
  type GatewayConfig,
  type GatewaySecrets,
  loadGatewayConfig,
  printable,
  readSecrets,
} from './config.ts';
import { CertificateVerifier, FinalityWatcher } from './finality.ts';
import { FileKeyStore, type KeyStore } from './keystore.ts';
import { LogRing } from './log-ring.ts';
import { nodeFetch } from './node-fetch.ts';
import { ProofChecker } from './proofs/checker.ts';
import { NodeRouter } from './routing.ts';
import { buildGateway } from './server.ts';

export interface RunningGateway {
  readonly url: string;
  readonly router: NodeRouter;
  readonly audit: AuditSink;
  stop(): Promise<void>;
}

/** The gateway's logger: JSON lines to stdout, warnings and errors also into `ring` (the console shows them). */
export const gatewayLogger = (level: string, ring?: LogRing, stdout = true): Logger =>
  ring
    ? createLogger(level, { component: 'gateway' }, { level: 'warn', stream: ring, stdout })
    : createLogger(level, { component: 'gateway' });

/** Starts a gateway from a validated config; used by main, the dev launcher, tests and the bench. */
export async function startGateway(
  config: GatewayConfig,
  secrets: GatewaySecrets,
  o: { log?: Logger; audit?: AuditSink; caseSystem?: CaseSystem; logRing?: LogRing } = {},
): Promise<RunningGateway> {
  // A logger made here feeds a ring of its own; a caller's logger feeds the ring it passes, if any.
  const logRing = o.log ? o.logRing : (o.logRing ?? new LogRing());
  const log = o.log ?? gatewayLogger(config.logLevel, logRing);
  const keyStore = await openKeyStore(config, secrets);
  const genesis = config.genesisFile
    ? decodeGenesis(JSON.parse(readFileSync(config.genesisFile, 'utf8')))
    : undefined;
  const router = new NodeRouter(
    config,
    nodeFetch(config.nodeCaFile ? readFileSync(config.nodeCaFile, 'utf8') : undefined),
  );
  await router.start();
  // The chain id comes from the nodes: wait for one rather than fail when the network is still starting.
  for (let waited = 0; !router.reached; waited++) {
    if (waited % 10 === 0)
      log.warn(
        { nodes: router.health().map((n) => (n.reason ? `${n.url}: ${n.reason}` : n.url)) },
        'waiting for a node of the network',
      );
    await new Promise((r) => setTimeout(r, 500));
    await router.checkAll();
  }
  // With a trusted genesis, every read the nodes can prove and every event page is verified.
  if (genesis) router.requireProofs(new ProofChecker(genesis, { log: log.child({ component: 'proofs' }) }));
  const verifier = new CertificateVerifier(router, genesis);
  const finality = new FinalityWatcher(router, verifier);
  const tokens = config.token
    ? new TokenVerifier({
        ...config.token,
        roleUris: config.roleUris,
        ...(config.token.jwksCaFile ? { jwksCa: readFileSync(config.token.jwksCaFile, 'utf8') } : {}),
      })
    : undefined;
  const audit =
    o.audit ??
    (config.auditFile
      ? new FileAuditSink(config.auditFile)
      : new MemoryAuditSink(1000, (entry) => log.info({ audit: entry }, 'audit')));
  const https = config.tls
    ? {
        key: readFileSync(config.tls.keyFile, 'utf8'),
        cert: readFileSync(config.tls.certFile, 'utf8'),
        ca: config.tls.clientCaFiles.map((f) => readFileSync(f, 'utf8')),
      }
    : undefined;
  const app = await buildGateway({
    config,
    log,
    keyStore,
    router,
    verifier,
    finality,
    audit,
    ...(tokens ? { tokens } : {}),
    ...(https ? { https } : {}),
    ...(o.caseSystem ? { caseSystem: o.caseSystem } : {}),
    ...(logRing ? { logRing } : {}),
    sessionSecret: secrets.keyStorePassphrase,
  });
  await app.listen({ host: config.listen.host, port: config.listen.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.listen.port;
  const url = `${config.tls ? 'https' : 'http'}://${config.listen.host}:${port}`;
  log.info(
    { url, municipalities: config.municipalities.length, keys: keyStore.cvrs().length },
    'gateway started',
  );
  return {
    url,
    router,
    audit,
    async stop() {
      router.stop();
      await app.close();
      await audit.close();
      keyStore.close?.();
    },
  };
}

/** The file store, or the HSM store when `keyStoreHsm` is configured (its native binding loaded only then). */
async function openKeyStore(config: GatewayConfig, secrets: GatewaySecrets): Promise<KeyStore> {
  if (!config.keyStoreHsm) return FileKeyStore.open(config.keyStoreDir, secrets.keyStorePassphrase);
  const { HsmKeyStore } = await import('./keystore-hsm.ts');
  return HsmKeyStore.open(config.keyStoreHsm);
}

/** `{ "hsm": { module, token, pinFile } }`, pinFile relative to the file. */
function readTokenFile(file: string): TokenConfig {
  const h = (JSON.parse(readFileSync(file, 'utf8')) as { hsm?: Record<string, unknown> }).hsm ?? {};
  for (const f of ['module', 'token', 'pinFile'])
    if (typeof h[f] !== 'string' || h[f] === '') throw new ConfigError(`${file}: hsm.${f} is required`);
  return {
    module: h.module as string,
    token: h.token as string,
    pinFile: resolve(dirname(file), h.pinFile as string),
  };
}

async function keys(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv.slice(1),
    options: { dir: { type: 'string' }, hsm: { type: 'string' }, cvr: { type: 'string', multiple: true } },
  });
  const { HsmKeyStore } = values.hsm ? await import('./keystore-hsm.ts') : { HsmKeyStore: undefined };
  if (argv[0] === 'create') {
    if (!(values.dir || values.hsm) || !values.cvr)
      throw new ConfigError(
        'usage: keys create (--dir <key store> | --hsm <token.json>) --cvr <CVR> [--cvr …]',
      );
    const token = values.hsm ? readTokenFile(values.hsm) : undefined;
    const passphrase = token ? '' : readSecrets(process.env).keyStorePassphrase;
    for (const cvr of values.cvr) {
      const publicKey =
        token && HsmKeyStore
          ? HsmKeyStore.create(token, cvr)
          : FileKeyStore.create(values.dir as string, passphrase, cvr);
      console.log(JSON.stringify({ cvr, publicKey }));
    }
    return;
  }
  if (argv[0] === 'import-to-hsm' && values.dir && values.hsm && HsmKeyStore) {
    const token = readTokenFile(values.hsm);
    for (const e of FileKeyStore.entries(values.dir, readSecrets(process.env).keyStorePassphrase)) {
      if (values.cvr && !values.cvr.includes(e.cvr)) continue;
      console.log(
        JSON.stringify({
          cvr: e.cvr,
          publicKey: HsmKeyStore.import(token, e.cvr, e.keyPair, e.pseudonymSecret),
        }),
      );
      e.pseudonymSecret.fill(0);
    }
    return;
  }
  throw new ConfigError(
    'usage: keys create (--dir <key store> | --hsm <token.json>) --cvr <CVR> …\n' +
      '       keys import-to-hsm --dir <key store> --hsm <token.json> [--cvr <CVR> …]',
  );
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'keys') return keys(argv.slice(1));
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string' } } });
  if (!values.config) throw new ConfigError('usage: node gateway/main.ts --config <gateway.json>');
  const { config, secrets } = loadGatewayConfig(values.config);
  const logRing = new LogRing();
  const log = gatewayLogger(config.logLevel, logRing);
  log.info({ config: printable(config) }, 'gateway config');
  const gateway = await startGateway(config, secrets, { log, logRing });
  const stop = () => {
    void gateway.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (import.meta.main) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e instanceof ConfigError ? e.message : e);
    process.exit(1);
  });
}
