/**
 * The gateway in front of a running network, as the benchmarks need it (`bench:gateway`,
 * `bench:national`'s central, `bench:topologies`' central): throwaway PKI, the token-service
 * emulator in this process, a key store with the municipality's and one provider's submitter
 * keys, both registered on chain, a template, the gateway as its own process (HTTPS, the real
 * `gateway/main.ts`) and one case system's bearer token. `call` is an authenticated request as
 * that case system makes it.
 *
 * The gateway's files (audit log, access log, key store) are under `dir`; `pid` is its process,
 * for its CPU, memory and sockets read from /proc.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { devGatewayAuth } from '../../gateway/dev-material.ts';
import { registerDevParties } from '../../gateway/dev-setup.ts';
import { TestCa } from '../../gateway/emulators/test-ca.ts';
import { requestToken, TokenServiceEmulator } from '../../gateway/emulators/token-service.ts';
import { FileKeyStore } from '../../gateway/keystore.ts';
import type { KeyPair } from '../../node/protocol/signature.ts';

const PASSPHRASE = 'throwaway-bench-passphrase';
const ENTITY_ID = 'urn:tillid:gateway:bench';
export const RIG_PROVIDER = '12345678';

export interface GatewayCallResult {
  status: number;
  body: { id?: string; hash?: string; code?: string; [k: string]: unknown };
}

export interface GatewayRig {
  readonly url: string;
  readonly pid: number;
  readonly dir: string;
  readonly keyStore: FileKeyStore;
  readonly municipality: string;
  /** An authenticated call as the municipality's case system (caseworker and director). */
  call(method: string, path: string, body?: unknown): Promise<GatewayCallResult>;
  /** A contract.create body for the rig's template (`n` varies the amount). */
  contract(n: number): Record<string, unknown>;
  /** Creates the rig's template (`<municipality>/bench`), waiting for finality. */
  defineTemplate(): Promise<void>;
  stop(): Promise<void>;
}

export interface RigOptions {
  /** A folder of its own (PKI, keys, gateway config, audit and access logs). */
  readonly dir: string;
  /** The network's genesis file (the gateway verifies certificates against its authorities). */
  readonly genesisFile: string;
  /** Each authority's CVR and the node URL(s) the gateway sends its calls to. */
  readonly municipalities: readonly { cvr: string; nodes: string[] }[];
  /** The municipality whose case system calls, and its authority key (registers it on chain). */
  readonly municipality: string;
  readonly authorityKey: KeyPair;
  /** Extra node.js arguments for the gateway process (e.g. --cpu-prof). */
  readonly nodeArgs?: readonly string[];
  readonly concurrency?: number;
}

export async function startGatewayRig(o: RigOptions): Promise<GatewayRig> {
  const { dir, municipality } = o;
  const ca = await TestCa.create();
  const server = await ca.issueServer(['localhost', '127.0.0.1']);
  const system = await ca.issueSystem({
    cvr: municipality,
    organisation: 'Bench Kommune',
    uid: 'bench-esdh',
  });
  TestCa.writeFiles(join(dir, 'pki'), { ca: ca.certPem, gateway: server });
  const emulator = await TokenServiceEmulator.start({
    cert: server.certPem,
    key: server.keyPem,
    clientCa: [ca.certPem],
  });
  let child: ChildProcess | undefined;
  const agent = new HttpsAgent({ keepAlive: true, maxSockets: o.concurrency ?? 128, ca: ca.certPem });
  const stop = async () => {
    agent.destroy();
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child?.once('exit', r));
      // SIGTERM: the gateway stops cleanly (and writes its CPU profile with --cpu-prof).
      child.kill('SIGTERM');
      const killer = setTimeout(() => child?.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
    await emulator.stop();
  };
  try {
    emulator.grant(system.systemId, municipality, [
      { privilege: 'urn:dk:tillid:roles:caseworker' },
      { privilege: 'urn:dk:tillid:roles:director' },
    ]);
    FileKeyStore.create(join(dir, 'keys'), PASSPHRASE, municipality);
    FileKeyStore.create(join(dir, 'keys'), PASSPHRASE, RIG_PROVIDER);
    const keyStore = FileKeyStore.open(join(dir, 'keys'), PASSPHRASE);
    const firstNode = o.municipalities[0]?.nodes[0] as string;
    await registerDevParties({
      nodeUrl: firstNode,
      keyStore,
      municipalities: new Map([[municipality, o.authorityKey]]),
      providers: [RIG_PROVIDER],
    });
    const config = {
      listen: { host: '127.0.0.1', port: 0 },
      ...devGatewayAuth({ issuer: emulator.issuer, audience: ENTITY_ID, jwksUrl: emulator.jwksUrl }),
      topology: 'federated',
      municipalities: o.municipalities,
      providers: [RIG_PROVIDER],
      agreements: ['contracts', 'network'].map((service) => ({
        system: system.systemId,
        service,
        cvr: municipality,
      })),
      keyStoreDir: 'keys',
      genesisFile: o.genesisFile,
      auditFile: 'audit.jsonl',
      rateLimit: { max: 1_000_000, timeWindowMs: 1000 },
      logLevel: 'info',
    };
    writeFileSync(join(dir, 'gateway.json'), JSON.stringify(config));
    const url = await new Promise<string>((resolve, reject) => {
      const c = spawn(
        process.execPath,
        [
          ...(o.nodeArgs ?? []),
          join(import.meta.dirname, '..', '..', 'gateway', 'main.ts'),
          '--config',
          join(dir, 'gateway.json'),
        ],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
          env: { ...process.env, TILLID_GATEWAY_KEYSTORE_PASSPHRASE: PASSPHRASE },
        },
      );
      child = c;
      let buffer = '';
      c.stdout?.on('data', (chunk) => {
        buffer += chunk;
        const line = buffer.split('\n').find((l) => l.includes('"gateway started"'));
        if (line) resolve(JSON.parse(line).url.replace('127.0.0.1', 'localhost'));
        buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
      });
      c.once('exit', (code) => reject(new Error(`gateway exited ${code}`)));
    });
    const tokenAnswer = await requestToken({
      tokenUrl: emulator.tokenUrl,
      cert: system.certPem,
      key: system.keyPem,
      ca: ca.certPem,
      service: ENTITY_ID,
      cvr: municipality,
    });
    const token = tokenAnswer.body.access_token as string;
    const call = (method: string, path: string, body?: unknown) =>
      new Promise<GatewayCallResult>((resolve, reject) => {
        const text = body === undefined ? undefined : JSON.stringify(body);
        const req = httpsRequest(
          `${url}${path}`,
          {
            method,
            agent,
            headers: {
              authorization: `Bearer ${token}`,
              'x-transaktionsid': randomUUID(),
              ...(text ? { 'content-type': 'application/json' } : {}),
            },
          },
          (res) => {
            let data = '';
            res.on('data', (d) => {
              data += d;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(data || '{}') }));
          },
        );
        req.on('error', reject);
        req.end(text);
      });
    const contract = (n: number) => ({
      template: `${municipality}/bench`,
      provider: RIG_PROVIDER,
      start: '2027-01-01',
      months: 12,
      items: [{ code: 'residence', monthly: 100_000 + (n % 1000) }],
      reportEveryMonths: 3,
      role: 'caseworker',
    });
    const defineTemplate = async () => {
      const template = await call('POST', '/v1/templates?wait=true', {
        code: 'bench',
        releaseWithheldOnReport: true,
        approvalLifetimeDays: 30,
        policies: Object.fromEntries(
          ['activate', 'amend', 'suspend', 'resume', 'terminate'].map((a) => [
            a,
            { signers: 1, party: 'municipality', role: 'director' },
          ]),
        ),
      });
      if (template.status !== 200) throw new Error(`template: ${JSON.stringify(template.body)}`);
    };
    return {
      url,
      pid: child?.pid as number,
      dir,
      keyStore,
      municipality,
      call,
      contract,
      defineTemplate,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
