/**
 * Mutual TLS with organisation and system certificates (OCES3 through MitID Erhverv; a test CA in
 * tests). TLS itself checks the chain against the configured CAs; this reads who the certificate
 * says the caller is, through node:crypto's X509Certificate: the CVR from the subject's
 * serialNumber (`CVR:<cvr>-UID:<id>`, also `-FID:`/`-RID:`) or organizationIdentifier
 * (`NTRDK-<cvr>`), and the system id from the serialNumber.
 */
import type { X509Certificate } from 'node:crypto';
import type { Privilege } from '../caller.ts';
import type { GatewayConfig } from '../config.ts';
import { GatewayError } from '../errors.ts';

export interface CertificateIdentity {
  readonly system: string;
  readonly cvr: string;
}

/** Subject attributes as node:crypto prints them: one `name=value` per line. */
function subjectAttributes(cert: X509Certificate): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of cert.subject.split('\n')) {
    const at = line.indexOf('=');
    if (at <= 0) continue;
    const name = line.slice(0, at);
    out.set(name, [...(out.get(name) ?? []), line.slice(at + 1)]);
  }
  return out;
}

const SERIAL = /^CVR:(\d{8})-(?:UID|FID|RID):[A-Za-z0-9._:-]{1,128}$/;
const ORG_ID = /^NTRDK-(\d{8})$/;

export function identityFromCertificate(cert: X509Certificate): CertificateIdentity {
  const attributes = subjectAttributes(cert);
  const serial = (attributes.get('serialNumber') ?? []).find((s) => SERIAL.test(s));
  const orgId = (attributes.get('organizationIdentifier') ?? attributes.get('2.5.4.97') ?? []).find((s) =>
    ORG_ID.test(s),
  );
  const cvrFromSerial = serial?.match(SERIAL)?.[1];
  const cvrFromOrg = orgId?.match(ORG_ID)?.[1];
  if (cvrFromSerial && cvrFromOrg && cvrFromSerial !== cvrFromOrg)
    throw new GatewayError('CERT_NO_CVR', 'the certificate names two different CVRs');
  const cvr = cvrFromSerial ?? cvrFromOrg;
  if (!cvr) throw new GatewayError('CERT_NO_CVR', 'the certificate subject carries no CVR');
  // Without a serialNumber the organisation is the system: its CVR plus the certificate serial.
  const system = serial ?? `CVR:${cvr}-CERT:${cert.serialNumber}`;
  return { system, cvr };
}

/** A certificate caller's privileges come from configuration: first entry matching system or CVR. */
export function certificatePrivileges(
  identity: CertificateIdentity,
  config: GatewayConfig,
): readonly Privilege[] {
  for (const entry of config.certificatePrivileges) {
    if (entry.system !== undefined && entry.system !== identity.system) continue;
    if (entry.cvr !== undefined && entry.cvr !== identity.cvr) continue;
    return entry.privileges;
  }
  return [];
}
