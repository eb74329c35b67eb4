/**
 * `node gateway/main.ts --config <file>`: run the gateway. Also
 * `node gateway/main.ts keys create --dir <key store> --cvr <CVR>`: generate a submitter key and
 * pseudonym secret for a municipality or provider in the encrypted key store, printing only the
 * public key (to register on chain with `party.register` / `party.addKey`).
 */

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
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
import { FileKeyStore } from './keystore.ts';
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
  const keyStore = FileKeyStore.open(config.keyStoreDir, secrets.keyStorePassphrase);
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
    },
  };
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'keys' && argv[1] === 'create') {
    const { values } = parseArgs({
      args: argv.slice(2),
      options: { dir: { type: 'string' }, cvr: { type: 'string', multiple: true } },
    });
    if (!values.dir || !values.cvr)
      throw new ConfigError('usage: keys create --dir <key store> --cvr <CVR> [--cvr …]');
    const { keyStorePassphrase } = readSecrets(process.env);
    for (const cvr of values.cvr)
      console.log(
        JSON.stringify({ cvr, publicKey: FileKeyStore.create(values.dir, keyStorePassphrase, cvr) }),
      );
    return;
  }
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
