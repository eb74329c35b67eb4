/**
 * Key files: a node's or a signer's Ed25519 key as JSON, readable by the owner only. A key file is
 * created on the host that uses it (the key ceremony shares public keys, never key files).
 */
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { fromHex } from './protocol/hash.ts';
import { isValidPublicKey, type KeyPair, keyPairFromSeed } from './protocol/signature.ts';

export function writeKeyFile(path: string, keyPair: KeyPair): void {
  const text = `${JSON.stringify({ publicKey: keyPair.publicKey, privateKey: keyPair.privateKey }, null, 2)}\n`;
  writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
}

export function readKeyFile(path: string): KeyPair {
  let parsed: { publicKey?: unknown; privateKey?: unknown };
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read key file ${path}: ${(e as Error).message}`);
  }
  if (typeof parsed.privateKey !== 'string' || !/^[0-9a-f]{64}$/.test(parsed.privateKey)) {
    throw new Error(`key file ${path} has no valid privateKey`);
  }
  const keyPair = keyPairFromSeed(fromHex(parsed.privateKey));
  if (parsed.publicKey !== undefined && parsed.publicKey !== keyPair.publicKey) {
    throw new Error(`key file ${path}: publicKey does not belong to privateKey`);
  }
  if (!isValidPublicKey(keyPair.publicKey)) throw new Error(`key file ${path}: unusable key`);
  if ((statSync(path).mode & 0o077) !== 0) {
    // Not fatal (containers mount files with their own modes), but an operator should know.
    process.emitWarning(`key file ${path} is readable by others; chmod 600 it`);
  }
  return keyPair;
}
