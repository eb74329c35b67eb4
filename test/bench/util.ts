import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signingMessage } from '../../node/protocol/signature.ts';

export const tempDirPlain = (prefix: string): string => mkdtempSync(join(tmpdir(), prefix));

/**
 * This machine's single-core Ed25519 verification rate (node:crypto, cached key, a transaction's
 * signing message), measured for `ms` milliseconds: the same-run baseline benchmarks compare to.
 */
export function verifyBaseline(ms = 1000): number {
  const key = createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.alloc(32, 7)]),
    format: 'der',
    type: 'pkcs8',
  });
  const pub = createPublicKey(key);
  const message = signingMessage('tx', '22'.repeat(32));
  const signature = sign(null, message, key);
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < ms) {
    verify(null, message, pub, signature);
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}
