/**
 * The HSM description file the CLI takes (`--hsm <file>`, also accepted by `--key`):
 * `{ "hsm": { module, token, keyLabel, pinFile } }`, pinFile relative to that file. `keys
 * hsm-generate`/`hsm-import` use it, and so do `network init --hsm` and `network join --hsm`, which
 * write the `hsm` object into the member's config.json themselves — so a member whose key is in an
 * HSM needs no hand edit (node/config.ts reads `hsm` instead of `keyFile`).
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { loadPkcs11 } from '../custody/open-signer.ts';
import type { HsmConfig } from '../custody/pkcs11.ts';
import type { Hex } from '../protocol/hash.ts';
import { UsageError } from './args.ts';

/** Reads and checks the file; pinFile becomes absolute. */
export function readHsmFile(path: string): HsmConfig {
  let h: Partial<HsmConfig> | undefined;
  try {
    h = JSON.parse(readFileSync(path, 'utf8')).hsm;
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${(e as Error).message}`);
  }
  for (const f of ['module', 'token', 'keyLabel', 'pinFile'] as const)
    if (typeof h?.[f] !== 'string' || h[f] === '') throw new UsageError(`${path}: hsm.${f} is required`);
  const config = h as HsmConfig;
  return { ...config, pinFile: resolve(dirname(path), config.pinFile) };
}

/**
 * The public key of the HSM's key, opened as the node will open it (log in, find the key, sign
 * once and verify): a token without that key, or a wrong PIN, is refused here, before any file
 * is written, rather than when the node starts.
 */
export async function hsmPublicKey(config: HsmConfig): Promise<Hex> {
  const { Pkcs11Signer } = await loadPkcs11();
  const signer = Pkcs11Signer.open(config);
  try {
    return signer.publicKey;
  } finally {
    signer.close();
  }
}

/**
 * The `hsm` object for a config.json in `configDir`: the node resolves pinFile relative to its
 * config's directory, so a PIN file inside it is named relative to it (the directory can move),
 * one elsewhere by its absolute path.
 */
export function hsmConfigFor(config: HsmConfig, configDir: string): HsmConfig {
  const rel = relative(configDir, config.pinFile);
  const pinFile = rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : config.pinFile;
  return { module: config.module, token: config.token, keyLabel: config.keyLabel, pinFile };
}
