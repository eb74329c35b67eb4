/**
 * Throwaway development material shared by `npm start` (gateway/dev.ts) and the docker-compose
 * init (deploy/gateway-init.ts): the key store passphrase and keys, the demo case system's and
 * demo provider's certificates, and the gateway agreements that let them call it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type SystemCertificate, TestCa } from './emulators/test-ca.ts';
import { FileKeyStore } from './keystore.ts';

export const DEMO_PROVIDER = { cvr: '12345678', name: 'Plejehjemmet Solsiden (demo provider)' };

/**
 * A passphrase (`<dir>/passphrase`, mode 600, kept across runs) and an encrypted key store
 * (`<dir>/keys`) holding a submitter key for each of `cvrs` and for the demo provider; keys already
 * there are kept. `dir` must exist.
 */
export function devKeyStore(
  dir: string,
  cvrs: readonly string[],
): { passphraseFile: string; passphrase: string; keysDir: string } {
  const passphraseFile = join(dir, 'passphrase');
  if (!existsSync(passphraseFile))
    writeFileSync(passphraseFile, randomBytes(24).toString('base64url'), { mode: 0o600 });
  const passphrase = readFileSync(passphraseFile, 'utf8').trim();
  const keysDir = join(dir, 'keys');
  for (const cvr of [...cvrs, DEMO_PROVIDER.cvr])
    if (!FileKeyStore.publicKeyOf(keysDir, cvr)) FileKeyStore.create(keysDir, passphrase, cvr);
  return { passphraseFile, passphrase, keysDir };
}

/**
 * Issues the demo case system's certificate (for `municipality`), the demo provider's and the
 * gateway's and token service's server certificates (names from `serverNames`), and writes them
 * with the CA to `pkiDir`.
 */
export async function writeDemoPki(
  ca: TestCa,
  pkiDir: string,
  municipality: { readonly cvr: string; readonly name: string },
  serverNames: (service: 'gateway' | 'token-service') => string[],
): Promise<{ esdh: SystemCertificate; provider: SystemCertificate }> {
  const esdh = await ca.issueSystem({
    cvr: municipality.cvr,
    organisation: municipality.name,
    system: 'ESDH (demo case system)',
    uid: 'esdh-demo',
  });
  const provider = await ca.issueSystem({
    cvr: DEMO_PROVIDER.cvr,
    organisation: DEMO_PROVIDER.name,
    uid: 'provider-demo',
  });
  TestCa.writeFiles(pkiDir, {
    ca: ca.certPem,
    gateway: await ca.issueServer(serverNames('gateway')),
    'token-service': await ca.issueServer(serverNames('token-service')),
    esdh,
    provider,
  });
  return { esdh, provider };
}

/** The gateway agreements: the case system for each of `esdhCvrs`, the provider for itself. */
export function demoAgreements(
  esdh: SystemCertificate,
  esdhCvrs: readonly string[],
  provider: SystemCertificate,
): { system: string; service: string; cvr: string }[] {
  return [
    ...esdhCvrs.flatMap((cvr) =>
      ['contracts', 'reports', 'network', 'transactions', 'documents', 'events'].map((service) => ({
        system: esdh.systemId,
        service,
        cvr,
      })),
    ),
    ...['contracts', 'reports', 'network', 'documents', 'events'].map((service) => ({
      system: provider.systemId,
      service,
      cvr: DEMO_PROVIDER.cvr,
    })),
  ];
}

/**
 * The `tls` and `token` sections of a gateway.json whose PKI lies in `pki/` beside it (as
 * writeDemoPki and the test harness write it): server certificate, client CA, and tokens checked
 * against `token.jwksUrl` over that CA.
 */
export function devGatewayAuth(token: {
  issuer: string;
  audience: string;
  jwksUrl: string;
  clockToleranceSeconds?: number;
}) {
  const { issuer, audience, jwksUrl, clockToleranceSeconds } = token;
  return {
    tls: { certFile: 'pki/gateway.pem', keyFile: 'pki/gateway.key', clientCaFiles: ['pki/ca.pem'] },
    token: {
      issuer,
      audience,
      jwksUrl,
      jwksCaFile: 'pki/ca.pem',
      ...(clockToleranceSeconds === undefined ? {} : { clockToleranceSeconds }),
    },
  };
}
