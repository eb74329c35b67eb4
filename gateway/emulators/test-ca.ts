/**
 * EMULATOR — a throwaway test certificate authority, standing in for the OCES3 CA (MitID Erhverv)
 * in tests, the demo and docker. It issues server certificates and organisation/system
 * certificates whose subject carries the CVR the way OCES certificates do:
 * `serialNumber=CVR:<cvr>-UID:<id>` and `organizationIdentifier=NTRDK-<cvr>`.
 * Nothing it issues is trusted anywhere but in a development gateway that is told to trust it.
 */
import 'reflect-metadata';
import { randomBytes, randomUUID, webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

// biome-ignore lint/suspicious/noExplicitAny: node's webcrypto is the Web Crypto API x509 expects
x509.cryptoProvider.set(webcrypto as any);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface IssuedCertificate {
  readonly certPem: string;
  /** PKCS#8 PEM. A throwaway key: never commit it. */
  readonly keyPem: string;
}

export interface SystemCertificate extends IssuedCertificate {
  readonly cvr: string;
  /** The system id the gateway derives from this certificate (its subject serialNumber). */
  readonly systemId: string;
}

const generateKeys = () =>
  webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;

async function keyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

const serial = () =>
  randomBytes(16)
    .toString('hex')
    .replace(/^[89a-f]/, '1');

export class TestCa {
  readonly certPem: string;
  readonly name: string;
  readonly #cert: x509.X509Certificate;
  readonly #keys: CryptoKeyPair;

  private constructor(cert: x509.X509Certificate, keys: CryptoKeyPair) {
    this.#cert = cert;
    this.#keys = keys;
    this.certPem = cert.toString('pem');
    this.name = cert.subject;
  }

  static async create(name = 'Tillid TEST CA - THROWAWAY'): Promise<TestCa> {
    const keys = await generateKeys();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: [{ CN: [name] }, { O: ['Tillid development (not a real CA)'] }, { C: ['DK'] }],
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + 365 * DAY),
      keys,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return new TestCa(cert, keys);
  }

  async #issue(
    subject: x509.JsonName,
    extensions: x509.Extension[],
    validity: { notBefore?: Date; notAfter?: Date } = {},
  ): Promise<IssuedCertificate> {
    const keys = await generateKeys();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject,
      issuer: this.#cert.subject,
      notBefore: validity.notBefore ?? new Date(Date.now() - DAY),
      notAfter: validity.notAfter ?? new Date(Date.now() + 90 * DAY),
      publicKey: keys.publicKey,
      signingKey: this.#keys.privateKey,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        await x509.AuthorityKeyIdentifierExtension.create(this.#keys.publicKey),
        ...extensions,
      ],
    });
    return { certPem: cert.toString('pem'), keyPem: await keyPem(keys.privateKey) };
  }

  /** A TLS server certificate for the given host names and IP addresses. */
  issueServer(hosts: readonly string[] = ['localhost', '127.0.0.1']): Promise<IssuedCertificate> {
    const names = hosts.map((h) =>
      /^[\d.]+$/.test(h) || h.includes(':')
        ? { type: 'ip' as const, value: h }
        : { type: 'dns' as const, value: h },
    );
    return this.#issue(
      [{ CN: [hosts[0] ?? 'localhost'] }, { O: ['Tillid development'] }],
      [
        new x509.SubjectAlternativeNameExtension(names),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      ],
    );
  }

  /**
   * An OCES-style organisation or system certificate for `cvr`: the subject names the CVR in its
   * serialNumber (`CVR:<cvr>-UID:<id>`) and organizationIdentifier (`NTRDK-<cvr>`).
   */
  async issueSystem(o: {
    cvr: string;
    organisation: string;
    system?: string;
    uid?: string;
    notBefore?: Date;
    notAfter?: Date;
  }): Promise<SystemCertificate> {
    const uid = o.uid ?? randomUUID();
    const systemId = `CVR:${o.cvr}-UID:${uid}`;
    const issued = await this.#issue(
      [
        { C: ['DK'] },
        { O: [`${o.organisation} // CVR:${o.cvr}`] },
        { '2.5.4.97': [`NTRDK-${o.cvr}`] },
        { CN: [o.system ?? o.organisation] },
        { '2.5.4.5': [systemId] },
      ],
      [
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      ],
      { ...(o.notBefore ? { notBefore: o.notBefore } : {}), ...(o.notAfter ? { notAfter: o.notAfter } : {}) },
    );
    return { ...issued, cvr: o.cvr, systemId };
  }

  /** Writes `ca.pem` and, per issued certificate, `<name>.pem` and `<name>.key` (mode 600). */
  static writeFiles(dir: string, files: Record<string, IssuedCertificate | string>): void {
    mkdirSync(dir, { recursive: true });
    for (const [name, value] of Object.entries(files)) {
      if (typeof value === 'string') {
        writeFileSync(join(dir, `${name}.pem`), value);
        continue;
      }
      writeFileSync(join(dir, `${name}.pem`), value.certPem);
      writeFileSync(join(dir, `${name}.key`), value.keyPem, { mode: 0o600 });
    }
  }
}
