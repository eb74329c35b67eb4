/**
 * A gateway as a support system meets it, for tests: a throwaway test CA, the token-service
 * emulator over mutual TLS, an encrypted key store with throwaway keys, the gateway over HTTPS
 * (tokens and client certificates) in front of real nodes, and an HTTP client that calls it with
 * a token or a certificate. Everything is generated per run; nothing here is a real secret.
 */

import { Agent as HttpsAgent } from 'node:https';
import { join } from 'node:path';
import { MemoryAuditSink } from '../../gateway/audit.ts';
import type { TokenPrivilege } from '../../gateway/auth/token.ts';
import type { CaseSystem } from '../../gateway/citizens/case-system.ts';
import { type GatewayConfig, validateGatewayConfig } from '../../gateway/config.ts';
import { devGatewayAuth } from '../../gateway/dev-material.ts';
import { registerDevParties } from '../../gateway/dev-setup.ts';
import { type IssuedCertificate, type SystemCertificate, TestCa } from '../../gateway/emulators/test-ca.ts';
import { requestToken, TokenServiceEmulator } from '../../gateway/emulators/token-service.ts';
import { FileKeyStore, type KeyStore } from '../../gateway/keystore.ts';
import type { LogRing } from '../../gateway/log-ring.ts';
import { type RunningGateway, startGateway } from '../../gateway/main.ts';
import { createLogger, type Logger } from '../../node/log.ts';
import type { KeyPair } from '../../node/protocol/signature.ts';
import { httpsJson } from '../fixtures/http.ts';
import { tempDir } from '../fixtures/node.ts';

/** THROWAWAY: the passphrase of test key stores. */
export const TEST_PASSPHRASE = 'throwaway-test-passphrase-not-a-secret';
export const GATEWAY_ENTITY_ID = 'urn:tillid:gateway:test';

export const MUNICIPALITY = '29189846';
export const CARE_HOME = '12345678';
export const OTHER_PROVIDER = '87654321';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by assertions, not types
type Body = any;

export interface SystemSpec {
  readonly cvr: string;
  readonly privileges?: readonly TokenPrivilege[];
  readonly services?: readonly string[];
}

export interface Identity {
  readonly token?: string;
  readonly cert?: IssuedCertificate;
}

export interface GatewayFixture<K extends string = string> {
  readonly gateway: RunningGateway;
  readonly url: string;
  readonly ca: TestCa;
  readonly emulator: TokenServiceEmulator;
  readonly audit: MemoryAuditSink;
  readonly keyStoreDir: string;
  readonly config: GatewayConfig;
  /** The systems the fixture was asked for, by name: a certificate each, granted as asked. */
  readonly systems: Readonly<Record<K, SystemCertificate>>;
  /** A token from the emulator for `system` acting for `cvr`. */
  token(system: SystemCertificate, cvr?: string): Promise<string>;
  call(
    method: string,
    path: string,
    o?: {
      as?: Identity;
      body?: unknown;
      raw?: { bytes: Buffer; contentType: string };
      headers?: Record<string, string>;
    },
  ): Promise<{ status: number; body: Body; headers: Record<string, string | string[] | undefined> }>;
}

export const privilege = (role: string, kle?: string[]): TokenPrivilege => ({
  privilege: `urn:dk:tillid:roles:${role}`,
  ...(kle ? { constraints: kle.map((value) => ({ name: 'urn:dk:kombit:KLE', value })) } : {}),
});

export async function startGatewayFixture<K extends string = never>(
  t: { after(fn: () => unknown): void },
  o: {
    municipalities: { cvr: string; nodes: string[]; authority?: KeyPair }[];
    providers?: string[];
    /** Extra raw config (merged over the defaults). */
    config?: Record<string, unknown>;
    /** Register parties on chain through the first node. */
    register?: boolean;
    /** The store whose submitter keys `register` puts on chain (default: the file store it made). */
    keyStore?: KeyStore;
    /**
     * Support systems by name: a certificate for `cvr`, a token grant of `privileges` (if given),
     * and service agreements for `services` (default: all) on behalf of `cvr`.
     */
    systems?: { [P in K]: SystemSpec };
    /** Components passed to the gateway: the case system adapter, a logger to inspect. */
    components?: { caseSystem?: CaseSystem; log?: Logger; logRing?: LogRing };
  },
): Promise<GatewayFixture<K>> {
  const dir = tempDir(t, 'tillid-gateway-');
  const ca = await TestCa.create();
  const tokenServer = await ca.issueServer(['localhost', '127.0.0.1']);
  const gatewayServer = await ca.issueServer(['localhost', '127.0.0.1']);
  TestCa.writeFiles(join(dir, 'pki'), { ca: ca.certPem, gateway: gatewayServer });
  const emulator = await TokenServiceEmulator.start({
    cert: tokenServer.certPem,
    key: tokenServer.keyPem,
    clientCa: [ca.certPem],
  });
  t.after(() => emulator.stop());
  const keyStoreDir = join(dir, 'keys');
  const providers = o.providers ?? [CARE_HOME, OTHER_PROVIDER];
  for (const cvr of [...o.municipalities.map((m) => m.cvr), ...providers])
    FileKeyStore.create(keyStoreDir, TEST_PASSPHRASE, cvr);
  const systems = {} as Record<K, SystemCertificate>;
  const agreements: { system: string; service: string; cvr: string }[] = [];
  for (const [name, spec] of Object.entries(o.systems ?? {}) as [
    K,
    { cvr: string; privileges?: readonly TokenPrivilege[]; services?: readonly string[] },
  ][]) {
    const cert = await ca.issueSystem({ cvr: spec.cvr, organisation: `${name} (test)`, system: name });
    systems[name] = cert;
    if (spec.privileges) emulator.grant(cert.systemId, spec.cvr, spec.privileges);
    for (const service of spec.services ?? [
      'contracts',
      'reports',
      'network',
      'transactions',
      'documents',
      'events',
    ])
      agreements.push({ system: cert.systemId, service, cvr: spec.cvr });
  }
  const raw = {
    listen: { host: '127.0.0.1', port: 0 },
    ...devGatewayAuth({
      issuer: emulator.issuer,
      audience: GATEWAY_ENTITY_ID,
      jwksUrl: emulator.jwksUrl,
      clockToleranceSeconds: 5,
    }),
    certificatePrivileges: providers.map((cvr) => ({
      cvr,
      privileges: [{ role: 'provider-representative' }],
    })),
    topology: 'federated',
    municipalities: o.municipalities.map((m) => ({ cvr: m.cvr, nodes: m.nodes })),
    providers,
    agreements,
    keyStoreDir: 'keys',
    finalityTimeoutMs: 20_000,
    healthCheckIntervalMs: 200,
    logLevel: 'silent',
    documents: { dir: 'documents' },
    ...(o.config ?? {}),
  };
  const config = validateGatewayConfig(raw, dir);
  const audit = new MemoryAuditSink();
  const gateway = await startGateway(
    config,
    { keyStorePassphrase: TEST_PASSPHRASE },
    {
      audit,
      log: o.components?.log ?? createLogger('silent'),
      ...(o.components?.caseSystem ? { caseSystem: o.components.caseSystem } : {}),
      ...(o.components?.logRing ? { logRing: o.components.logRing } : {}),
    },
  );
  t.after(() => gateway.stop());
  if (o.register) {
    const keyStore = o.keyStore ?? FileKeyStore.open(keyStoreDir, TEST_PASSPHRASE);
    const municipalities = new Map(
      o.municipalities.filter((m) => m.authority).map((m) => [m.cvr, m.authority as KeyPair]),
    );
    await registerDevParties({
      nodeUrl: o.municipalities[0]?.nodes[0] as string,
      keyStore,
      municipalities,
      providers,
    });
  }
  const agents = new Map<string, HttpsAgent>();
  const agentFor = (cert?: IssuedCertificate) => {
    const key = cert?.certPem ?? 'none';
    let agent = agents.get(key);
    if (!agent) {
      agent = new HttpsAgent({
        keepAlive: true,
        ca: ca.certPem,
        ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}),
      });
      agents.set(key, agent);
    }
    return agent;
  };
  t.after(() => {
    for (const a of agents.values()) a.destroy();
  });
  const url = gateway.url.replace('127.0.0.1', 'localhost');
  return {
    gateway,
    url,
    ca,
    emulator,
    audit,
    keyStoreDir,
    config,
    systems,
    async token(system, cvr = system.cvr) {
      const answer = await requestToken({
        tokenUrl: emulator.tokenUrl,
        cert: system.certPem,
        key: system.keyPem,
        ca: ca.certPem,
        service: GATEWAY_ENTITY_ID,
        cvr,
      });
      if (!answer.body.access_token) throw new Error(`no token: ${JSON.stringify(answer.body)}`);
      return answer.body.access_token;
    },
    call(method, path, c = {}) {
      const body = c.raw ? c.raw.bytes : c.body === undefined ? undefined : JSON.stringify(c.body);
      const contentType = c.raw ? c.raw.contentType : 'application/json';
      return httpsJson(
        {
          url: `${url}${path}`,
          options: {
            method,
            agent: agentFor(c.as?.cert),
            headers: {
              ...(body !== undefined ? { 'content-type': contentType } : {}),
              ...(c.as?.token ? { authorization: `Bearer ${c.as.token}` } : {}),
              ...(c.headers ?? {}),
            },
          },
        },
        body,
      );
    },
  };
}
