/**
 * THROWAWAY TLS material for bundles, so that a consortium can start with TLS on before its
 * municipalities' own PKI has issued anything: one development CA per generated consortium, a
 * server certificate per node (and per gateway) naming its host. The CA's private key is never
 * written anywhere: it issues these certificates and is gone, so nothing else can ever be issued
 * under it. Replace all of it with certificates from the municipality's own PKI (bundle README).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type IssuedCertificate, TestCa } from '../gateway/emulators/test-ca.ts';

export const DEV_CA_NAME = 'Tillid bundle DEV CA - THROWAWAY, replace with your own PKI';

export interface DevPki {
  readonly caPem: string;
  /** A server certificate for these names (DNS names or IPs), from the throwaway CA. */
  issue(names: readonly string[]): Promise<IssuedCertificate>;
}

export async function createDevPki(): Promise<DevPki> {
  const ca = await TestCa.create(DEV_CA_NAME);
  return { caPem: ca.certPem, issue: (names) => ca.issueServer([...new Set(names)]) };
}

const WARNING =
  'THROWAWAY development TLS material from `npm run generate -- --bundles`: a CA whose key was\n' +
  'discarded after issuing these files. Fine to start a test consortium with TLS on; replace every\n' +
  "file here with the municipality's own PKI before production (see the bundle's README).\n";

/** Writes `ca.pem`, `<name>.pem` and `<name>.key` and a README saying what they are into `dir`. */
export function writeTlsFiles(dir: string, caPem: string, name: string, cert: IssuedCertificate): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'THROWAWAY-README.txt'), WARNING);
  writeFileSync(join(dir, 'ca.pem'), caPem);
  writeFileSync(join(dir, `${name}.pem`), cert.certPem);
  // Readable by the container's uid 1000 only after the README's chown; never world-readable.
  writeFileSync(join(dir, `${name}.key`), cert.keyPem, { mode: 0o600 });
}
