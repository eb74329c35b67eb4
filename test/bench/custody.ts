/**
 * `npm run bench:custody`: what keeping the key in custody costs. Signing rate (CPU time of this
 * process, so load on the machine matters less) of an authority key held three ways, in one run:
 * a key file's node:crypto KeyObject (the baseline: what a node used before), the same key in a
 * SoftHSM2 token through PKCS#11, and opening an encrypted key file (scrypt, paid once at start).
 * A node signs a few messages per block (a proposal, two votes, a commit share), so what matters is
 * whether the HSM stays far above that; the printed ratio says by how much it is slower.
 *
 *   npm run bench:custody -- [--signatures 2000]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readKeyFile, writeEncryptedKeyFile } from '../../node/custody/key-file.ts';
import { hsmImport, Pkcs11Signer } from '../../node/custody/pkcs11.ts';
import {
  generateKeyPair,
  type MessageSigner,
  Signer,
  verifySignature,
} from '../../node/protocol/signature.ts';
import { softHsmToken, useSoftHsm } from '../fixtures/softhsm.ts';

const { values } = parseArgs({ options: { signatures: { type: 'string', default: '2000' } } });
const n = Number(values.signatures);

function cpuMs<T>(work: () => T): { ms: number; result: T } {
  const start = process.cpuUsage();
  const result = work();
  const used = process.cpuUsage(start);
  return { ms: (used.user + used.system) / 1000, result };
}

function rate(signer: MessageSigner): number {
  const messages = Array.from({ length: n }, (_, i) => Buffer.from(`tillid/vote/v1\0${i}`));
  const { ms, result } = cpuMs(() => messages.map((m) => signer.sign(m)));
  if (!verifySignature(signer.publicKey, messages[n - 1] as Buffer, result[n - 1] as string))
    throw new Error('a signature did not verify');
  return (n / ms) * 1000;
}

const dir = mkdtempSync(join(tmpdir(), 'tillid-bench-custody-'));
try {
  useSoftHsm(dir);
  const token = softHsmToken(dir, 'bench');
  const key = generateKeyPair();
  hsmImport(token.config, key);
  const file = new Signer(key);
  const hsm = Pkcs11Signer.open(token.config);
  const fileRate = rate(file);
  const hsmRate = rate(hsm);
  hsm.close();
  writeEncryptedKeyFile(join(dir, 'key.json'), key, 'a benchmark passphrase');
  writeFileSync(join(dir, 'pass'), 'a benchmark passphrase\n', { mode: 0o600 });
  const open = cpuMs(() =>
    readKeyFile(join(dir, 'key.json'), { passphraseFile: join(dir, 'pass'), env: {} }),
  );
  console.log(
    JSON.stringify(
      {
        signatures: n,
        keyFileSignsPerCpuSecond: Math.round(fileRate),
        softHsm2SignsPerCpuSecond: Math.round(hsmRate),
        hsmSlowerBy: Number((fileRate / hsmRate).toFixed(2)),
        openEncryptedKeyFileCpuMs: Math.round(open.ms),
      },
      null,
      2,
    ),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
