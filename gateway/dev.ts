/**
 * `npm start`: the local four-municipality network (`tillid network up`, as child processes), the
 * token-service EMULATOR and the gateway, with everything a first call needs generated under
 * `.tillid/local/gateway/` — all of it THROWAWAY development material, never committed:
 *   pki/        a test CA, server certificates, and system certificates for a demo case system
 *               (Høje-Taastrup's ESDH) and a demo provider (a care home, CVR 12345678)
 *   keys/       the gateway's encrypted key store (a submitter key per municipality and provider)
 *   passphrase  its passphrase (mode 600; a real deployment injects it from a secret store)
 *   gateway.json
 * and the Context Handler (OIDC) EMULATOR for the web console's person login (port 8444), the
 * MitID broker (OIDC) EMULATOR for citizens' login (port 8445) and an in-process EMULATOR of the
 * municipality's case system with demo citizens (gateway/citizens).
 * Each municipality is registered on chain with its gateway submitter key, signed by its own
 * authority key in its node directory; the provider is registered by Høje-Taastrup.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join, relative, resolve } from 'node:path';
import { readNodeConfigKey } from '../node/custody/key-file.ts';
import { decodeGenesis, genesisHash } from '../node/protocol/genesis.ts';
import type { KeyPair } from '../node/protocol/signature.ts';
import { bothParties, oneDirectorOrTwoCentreChiefs } from '../node/state/contracts/policy.ts';
import { loadGatewayConfig } from './config.ts';
import { DEMO_PROVIDER, demoAgreements, devGatewayAuth, devKeyStore, writeDemoPki } from './dev-material.ts';
import { registerDevParties } from './dev-setup.ts';
import { DEMO_CHILD_CASE, demoCaseSystem } from './emulators/case-system-emulator.ts';
import { ContextHandlerEmulator, demoPersons } from './emulators/context-handler-oidc.ts';
import { DEMO_CITIZENS, MitIdBrokerEmulator } from './emulators/mitid-broker-oidc.ts';
import { TestCa } from './emulators/test-ca.ts';
import { requestToken, TokenServiceEmulator } from './emulators/token-service.ts';
import { FileKeyStore } from './keystore.ts';
import { LogRing } from './log-ring.ts';
import { gatewayLogger, startGateway } from './main.ts';

const NETWORK_DIR = resolve(process.env.TILLID_DEV_DIR ?? '.tillid/local');
const DIR = join(NETWORK_DIR, 'gateway');
const GATEWAY_PORT = Number(process.env.TILLID_GATEWAY_PORT ?? 8080);
const TOKEN_SERVICE_PORT = 8443;
const CONTEXT_HANDLER_PORT = 8444;
const MITID_BROKER_PORT = 8445;
const ENTITY_ID = 'urn:tillid:gateway';
const CLI = join(import.meta.dirname, '..', 'node', 'cli', 'tillid.ts');

/** A path relative to the working directory when it is inside it, else absolute. */
const shortPath = (path: string) =>
  relative(process.cwd(), path).startsWith('..') ? path : relative(process.cwd(), path);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface NodeDir {
  readonly name: string;
  readonly cvr: string;
  readonly url: string;
  readonly authority: KeyPair;
}

function nodeDirs(): NodeDir[] {
  const genesis = JSON.parse(readFileSync(join(NETWORK_DIR, 'genesis.json'), 'utf8'));
  return readdirSync(NETWORK_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(NETWORK_DIR, e.name, 'config.json')))
    .map((e) => {
      const config = JSON.parse(readFileSync(join(NETWORK_DIR, e.name, 'config.json'), 'utf8'));
      const authority = readNodeConfigKey(join(NETWORK_DIR, e.name, 'config.json'));
      const record = genesis.authorities.find(
        (a: { publicKey: string }) => a.publicKey === authority.publicKey,
      );
      return {
        name: config.name,
        cvr: record.cvr,
        url: `http://${config.api.host}:${config.api.port}`,
        authority,
      };
    })
    .sort((a, b) => a.url.localeCompare(b.url));
}

/** Waits until every node answers, and checks it runs this network (not something else on its port). */
async function waitForNodes(nodes: readonly NodeDir[]): Promise<void> {
  const expected = genesisHash(
    decodeGenesis(JSON.parse(readFileSync(join(NETWORK_DIR, 'genesis.json'), 'utf8'))),
  );
  for (const node of nodes) {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${node.url}/readyz`)).ok) break;
      } catch {}
      if (i > 600) throw new Error(`${node.name} did not become ready`);
      await sleep(100);
    }
    const status = (await (await fetch(`${node.url}/v1/status`)).json()) as { genesisHash?: string };
    if (status.genesisHash !== expected)
      throw new Error(
        `${node.url} answers for another network (its genesis is not ${NETWORK_DIR}/genesis.json): is something else (docker compose?) using the ports?`,
      );
  }
}

/**
 * The template the console's demo drafts from (`anbringelse`): activation by a centre chief and
 * the provider, every other action by one director or two centre chiefs. Defined by the demo case
 * system (its director privilege) through the gateway; kept when it exists (templates are immutable).
 */
async function defineConsoleTemplate(
  gw: string,
  ca: string,
  token: Parameters<typeof requestToken>[0],
): Promise<string> {
  const granted = await requestToken(token);
  const body = JSON.stringify({
    code: 'anbringelse',
    releaseWithheldOnReport: true,
    approvalLifetimeDays: 30,
    role: 'director',
    policies: {
      activate: bothParties('centre-chief'),
      amend: oneDirectorOrTwoCentreChiefs(),
      suspend: oneDirectorOrTwoCentreChiefs(),
      resume: oneDirectorOrTwoCentreChiefs(),
      terminate: oneDirectorOrTwoCentreChiefs(),
    },
  });
  const [status, answer] = await new Promise<[number, string]>((resolve, reject) => {
    const req = httpsRequest(
      `${gw}/v1/templates?wait=true`,
      {
        method: 'POST',
        ca,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${granted.body.access_token}` },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => resolve([res.statusCode ?? 0, text]));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  if (status !== 200 && !answer.includes('TEMPLATE_EXISTS'))
    throw new Error(`defining the console's demo template failed: ${status} ${answer}`);
  return `${token.cvr}/anbringelse`;
}

async function main(): Promise<void> {
  const network = spawn(process.execPath, [CLI, 'network', 'up', '--dir', NETWORK_DIR], {
    stdio: ['ignore', process.env.TILLID_DEV_NODE_LOGS ? 'inherit' : 'ignore', 'inherit'],
  });
  const stopNetwork = () => network.kill('SIGTERM');
  process.on('exit', stopNetwork);
  const networkExited = new Promise<never>((_, reject) =>
    network.on('exit', (code) => reject(new Error(`the node network exited (${code}) while starting`))),
  );
  while (!existsSync(join(NETWORK_DIR, 'genesis.json'))) await sleep(100);
  await sleep(300);
  const nodes = nodeDirs();
  await Promise.race([waitForNodes(nodes), networkExited]);
  networkExited.catch(() => {});

  // Throwaway development material: a passphrase and key store kept across runs (the keys are
  // registered on chain), a fresh test CA and certificates each run.
  mkdirSync(DIR, { recursive: true, mode: 0o700 });
  const { passphraseFile, passphrase, keysDir } = devKeyStore(
    DIR,
    nodes.map((n) => n.cvr),
  );

  const ca = await TestCa.create('Tillid DEV CA - THROWAWAY');
  const first = nodes[0] as NodeDir;
  const { esdh, provider } = await writeDemoPki(ca, join(DIR, 'pki'), first, () => [
    'localhost',
    '127.0.0.1',
  ]);

  const tokenService = await TokenServiceEmulator.start({
    cert: readFileSync(join(DIR, 'pki', 'token-service.pem'), 'utf8'),
    key: readFileSync(join(DIR, 'pki', 'token-service.key'), 'utf8'),
    clientCa: [ca.certPem],
    port: TOKEN_SERVICE_PORT,
    tokenTtlSeconds: 3600,
  });
  // The municipality's administrator grants the case system its roles (here: all three).
  tokenService.grant(esdh.systemId, first.cvr, [
    { privilege: 'urn:dk:tillid:roles:caseworker' },
    { privilege: 'urn:dk:tillid:roles:centre-chief' },
    { privilege: 'urn:dk:tillid:roles:director' },
  ]);

  // The staff identity provider EMULATOR for the console: demo people of the first municipality
  // and of the demo provider, picked on its login page.
  const idpCert = await ca.issueServer(['localhost', '127.0.0.1']);
  const gw = `https://localhost:${GATEWAY_PORT}`;
  const contextHandler = await ContextHandlerEmulator.start({
    cert: idpCert.certPem,
    key: idpCert.keyPem,
    port: CONTEXT_HANDLER_PORT,
    persons: demoPersons(first.cvr, DEMO_PROVIDER.cvr),
    clients: { 'tillid-konsol': [`${gw}/konsol/callback`] },
  });
  // The citizen login EMULATOR (MitID via a broker) and the case system EMULATOR behind /borger.
  const mitid = await MitIdBrokerEmulator.start({
    cert: idpCert.certPem,
    key: idpCert.keyPem,
    port: MITID_BROKER_PORT,
    citizens: DEMO_CITIZENS,
    clients: { 'tillid-borger': [`${gw}/borger/callback`] },
  });

  const config = {
    listen: { host: '127.0.0.1', port: GATEWAY_PORT },
    console: {
      issuer: contextHandler.issuer,
      clientId: 'tillid-konsol',
      publicUrl: gw,
      issuerCaFile: 'pki/ca.pem',
      // Sessions survive a restart of `npm start` (encrypted under the key store passphrase).
      sessionFile: 'console-sessions.json',
      citizenIssuer: mitid.issuer,
      citizenClientId: 'tillid-borger',
    },
    ...devGatewayAuth({ issuer: tokenService.issuer, audience: ENTITY_ID, jwksUrl: tokenService.jwksUrl }),
    certificatePrivileges: [{ cvr: DEMO_PROVIDER.cvr, privileges: [{ role: 'provider-representative' }] }],
    topology: 'federated',
    municipalities: nodes.map((n) => ({ cvr: n.cvr, name: n.name, nodes: [n.url] })),
    providers: [DEMO_PROVIDER.cvr],
    agreements: demoAgreements(esdh, [first.cvr], provider),
    keyStoreDir: 'keys',
    genesisFile: '../genesis.json',
    auditFile: 'audit.jsonl',
    logLevel: 'warn',
  };
  writeFileSync(join(DIR, 'gateway.json'), `${JSON.stringify(config, null, 2)}\n`);
  const loaded = loadGatewayConfig(join(DIR, 'gateway.json'), {
    ...process.env,
    TILLID_GATEWAY_KEYSTORE_PASSPHRASE_FILE: passphraseFile,
  });
  const logRing = new LogRing();
  const gateway = await startGateway(loaded.config, loaded.secrets, {
    log: gatewayLogger('warn', logRing),
    logRing,
    caseSystem: demoCaseSystem(first.cvr, first.name, DEMO_PROVIDER.cvr, DEMO_PROVIDER.name),
  });

  const keyStore = FileKeyStore.open(keysDir, passphrase);
  const { registered } = await registerDevParties({
    nodeUrl: first.url,
    keyStore,
    municipalities: new Map(nodes.map((n) => [n.cvr, n.authority])),
    providers: [DEMO_PROVIDER.cvr],
  });

  const template = await defineConsoleTemplate(gw, ca.certPem, {
    tokenUrl: tokenService.tokenUrl,
    cert: esdh.certPem,
    key: esdh.keyPem,
    ca: ca.certPem,
    service: ENTITY_ID,
    cvr: first.cvr,
  });
  const pki = shortPath(join(DIR, 'pki'));
  console.error(`
Tillid is running: ${nodes.length} nodes (${nodes.map((n) => n.url).join(', ')}),
the gateway at ${gw} (OpenAPI: ${gw}/docs) and the token-service EMULATOR at ${tokenService.url}.
${registered.length > 0 ? `Registered on chain: ${registered.join(', ')}.\n` : ''}
A first call, as ${first.name}'s case system (certificate ${pki}/esdh.pem):

  TOKEN=$(curl -s --cacert ${pki}/ca.pem --cert ${pki}/esdh.pem --key ${pki}/esdh.key \\
    -d grant_type=client_credentials \\
    -d scope=entityid:${ENTITY_ID},anvenderkontekst:${first.cvr} \\
    ${tokenService.tokenUrl} | sed 's/.*"access_token":"\\([^"]*\\)".*/\\1/')
  curl -s --cacert ${pki}/ca.pem -H "Authorization: Bearer $TOKEN" ${gw}/v1/network

Then define a template and draft a contract with the demo provider (${DEMO_PROVIDER.cvr}):

  curl -s --cacert ${pki}/ca.pem -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
    '${gw}/v1/templates?wait=true' -d '{"code":"placement","releaseWithheldOnReport":true,"approvalLifetimeDays":30,
    "policies":{"activate":{"all":[{"signers":1,"party":"municipality","role":"caseworker"},{"signers":1,"party":"provider","role":"provider-representative"}]},
    "amend":{"signers":1,"party":"municipality","role":"director"},"suspend":{"signers":1,"party":"municipality","role":"director"},
    "resume":{"signers":1,"party":"municipality","role":"director"},"terminate":{"signers":1,"party":"municipality","role":"director"}}}'
  curl -s --cacert ${pki}/ca.pem -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
    '${gw}/v1/contracts?wait=true' -d '{"template":"${first.cvr}/placement","provider":"${DEMO_PROVIDER.cvr}","start":"2027-01-01",
    "months":12,"items":[{"code":"residence","monthly":4500000}],"reportEveryMonths":3,"role":"caseworker"}'

The provider calls with its certificate instead of a token: curl --cert ${pki}/provider.pem --key ${pki}/provider.key …
The web console for people: ${gw}/konsol/ (template ${template} for drafting) — log in through the Context Handler EMULATOR at
${contextHandler.issuer} as one of its demo people (the browser will warn about the test CA: ${pki}/ca.pem).
Citizens: ${gw}/borger/ — log in through the MitID broker EMULATOR at ${mitid.issuer} as Vera, who has custody of
a child whose case number is ${DEMO_CHILD_CASE}: a caseworker opens it in the console and drafts under it; once a
contract there is active, Vera sees it, and the case page shows who read it with a proof anchored on chain.
There she can ask to correct a service (the emulated case system's inbox gets it) and give Anders a power of
attorney: he logs in and enters her code on the front page. The emulated case system is in memory, so its
inbox, and the handles that grants rest on, start afresh with every run.
Audit log: ${shortPath(join(DIR, 'audit.jsonl'))}. Stop everything with Ctrl-C.
`);
  let stopping = false;
  const stopAll = async () => {
    if (stopping) return;
    stopping = true;
    await gateway.stop();
    await tokenService.stop();
    await contextHandler.stop();
    await mitid.stop();
    stopNetwork();
  };
  process.on('SIGINT', () => void stopAll());
  process.on('SIGTERM', () => void stopAll());
  network.on('exit', (code) => {
    if (!stopping) console.error(`the node network exited (${code}); stopping the gateway`);
    void stopAll().then(() => process.exit(code ?? 0));
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
