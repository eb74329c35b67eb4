/**
 * Opens the signer a configuration names: an HSM key (PKCS#11) when `hsm` is given, otherwise a
 * key file (encrypted, with its passphrase file). The PKCS#11 binding is a native module, loaded
 * only when an HSM is configured.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { MessageSigner } from '../protocol/signature.ts';
import { Signer } from '../protocol/signature.ts';
import { KeyFileError, readKeyFile } from './key-file.ts';
import type { HsmConfig } from './pkcs11.ts';

export interface KeySource {
  readonly keyFile?: string | undefined;
  readonly passphraseFile?: string | undefined;
  readonly hsm?: HsmConfig | undefined;
}

export async function openSigner(
  source: KeySource,
  env: NodeJS.ProcessEnv = process.env,
): Promise<MessageSigner> {
  if (source.hsm) {
    const { Pkcs11Signer } = await loadPkcs11();
    return Pkcs11Signer.open(source.hsm);
  }
  if (!source.keyFile) throw new Error('no key: give a key file or an HSM configuration');
  return new Signer(readKeyFile(source.keyFile, { passphraseFile: source.passphraseFile, env }));
}

/**
 * What a CLI `--key <file>` names: a key file (encrypted or plaintext), or a JSON file
 * `{ "hsm": { module, token, keyLabel, pinFile } }` describing a key in an HSM (pinFile relative to
 * that file). So every signing command works with either, unchanged.
 */
export async function openKeyArgument(
  path: string,
  passphraseFile: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<MessageSigner> {
  let parsed: { hsm?: Partial<HsmConfig> };
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new KeyFileError(`cannot read key file ${path}: ${(e as Error).message}`);
  }
  if (parsed && typeof parsed === 'object' && parsed.hsm !== undefined) {
    const h = parsed.hsm ?? {};
    for (const f of ['module', 'token', 'keyLabel', 'pinFile'] as const)
      if (typeof h[f] !== 'string' || h[f] === '') throw new KeyFileError(`${path}: hsm.${f} is required`);
    const hsm = h as HsmConfig;
    return openSigner({ hsm: { ...hsm, pinFile: resolve(dirname(path), hsm.pinFile) } }, env);
  }
  return openSigner({ keyFile: path, passphraseFile }, env);
}

/** The PKCS#11 module, or a clear error when its native binding was not built on this host. */
export async function loadPkcs11(): Promise<typeof import('./pkcs11.ts')> {
  try {
    return await import('./pkcs11.ts');
  } catch (e) {
    throw new Error(
      `the PKCS#11 binding (pkcs11js) cannot load here (${(e as Error).message.split('\n')[0]}): ` +
        'it is compiled by npm install, which needs g++, make and python3; then npm rebuild pkcs11js',
    );
  }
}

/**
 * A signer whose failure stops the node. A key file's signer cannot fail, an HSM can (removed,
 * restarted, unreachable); a node must then not carry on without its key — some callers (block
 * sync, gossip) catch errors and would leave it running but silent. `stop` is told (the node logs
 * and ends the process past every catch: `exitOnSignerFailure`), and the caller gets the error too,
 * so nothing is recorded or sent for the signature that failed.
 */
export function failStop(signer: MessageSigner, stop: (e: Error) => void): MessageSigner {
  return {
    publicKey: signer.publicKey,
    sign(message) {
      try {
        return signer.sign(message);
      } catch (e) {
        stop(e as Error);
        throw e;
      }
    },
    close: () => signer.close?.(),
    toJSON: () => signer,
  } as MessageSigner;
}

/** Ends the process on the next tick, out of any catch; its supervisor restarts it. */
export const exitOnSignerFailure = (e: Error): void =>
  process.nextTick(() => {
    throw e;
  });
