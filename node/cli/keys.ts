/**
 * `tillid keys …`: an authority's or signer's key, encrypted by default or in an HSM.
 *
 *   generate       a new key in an encrypted key file (`--plaintext` only on explicit request)
 *   encrypt        an old plaintext key file to the encrypted format (same key, new file)
 *   hsm-generate   a new key inside an HSM: it never exists outside it (for a new member)
 *   hsm-import     an existing key file's key into an HSM: an authority already in the genesis
 *                  keeps its identity (moving to a new key would be a key rotation)
 *
 * Passphrases and PINs come from files only (node/custody/passphrase.ts).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { provisionSignedVoteLog, SIGNED_VOTE_LOG } from '../consensus/tendermint/file-signed-log.ts';
import { readKeyFile, writeEncryptedKeyFile, writePlaintextKeyFile } from '../custody/key-file.ts';
import { loadPkcs11 } from '../custody/open-signer.ts';
import { passphraseFileOf, readNewPassphrase } from '../custody/passphrase.ts';
import { generateKeyPair } from '../protocol/signature.ts';
import { parse, required, UsageError } from './args.ts';
import { readHsmFile } from './hsm-file.ts';

function refuseExisting(path: string): void {
  if (existsSync(path)) throw new UsageError(`${path} already exists; a key file is never overwritten`);
}

/**
 * A key made just now has signed nothing: the node that will use it gets its empty signed-vote log
 * now, in `--data-dir`, so it starts as a node whose record is complete. Explicit, never a default:
 * the same command also makes rotation keys beside a node whose data directory may have been wiped,
 * and an empty log there would let its old key sign twice. Without the file a node takes its log as
 * lost and waits for the other authorities before it signs (node/consensus/rejoin.ts).
 */
function provisionLog(dataDir: string | undefined): string | undefined {
  if (dataDir === undefined) return undefined;
  provisionSignedVoteLog(dataDir);
  return join(dataDir, SIGNED_VOTE_LOG);
}

export function keysGenerate(args: string[]): void {
  const v = parse(args, {
    out: { type: 'string' },
    'passphrase-file': { type: 'string' },
    plaintext: { type: 'boolean', default: false },
    'data-dir': { type: 'string' },
  });
  const path = required(v.out, 'out');
  refuseExisting(path);
  const keyPair = generateKeyPair();
  if (v.plaintext) {
    if (v['passphrase-file']) throw new UsageError('--plaintext takes no --passphrase-file');
    writePlaintextKeyFile(path, keyPair);
    console.error(
      `WARNING: ${path} holds the private key in PLAINTEXT: anyone who can read it can sign as this key. ` +
        'Use it only where the disk itself is protected; `tillid keys encrypt` converts it.',
    );
  } else {
    writeEncryptedKeyFile(path, keyPair, readNewPassphrase(passphraseFileOf(v['passphrase-file'])));
  }
  const signedVoteLog = provisionLog(v['data-dir']);
  console.log(
    JSON.stringify({ publicKey: keyPair.publicKey, keyFile: path, encrypted: !v.plaintext, signedVoteLog }),
  );
}

/**
 * `keys provision-log --data-dir <dir>`: the operator states that the key this data directory's node
 * signs with has never signed (a new network on fresh volumes, e.g. Kubernetes PersistentVolumes the
 * key ceremony could not write to). Refuses a directory that already holds a log or anything else —
 * a node that has run there may have signed, and an empty log would let it sign twice.
 */
export function keysProvisionLog(args: string[]): void {
  const v = parse(args, {
    'data-dir': { type: 'string' },
    'unless-used': { type: 'boolean', default: false },
  });
  const dataDir = required(v['data-dir'], 'data-dir');
  const used = existsSync(dataDir) && readdirSync(dataDir).length > 0;
  // --unless-used: for an init step that runs before every start (Kubernetes --new-network): a used
  // directory is left as it is — its own log, or none, decides.
  if (used && v['unless-used']) {
    console.log(JSON.stringify({ signedVoteLog: null, reason: `${dataDir} is in use; left as it is` }));
    return;
  }
  if (used)
    throw new UsageError(
      `${dataDir} is not empty: a node has run there and may have signed; its log is never made up ` +
        '(a node without one waits for the other authorities: deploy/OPERATIONS.md, "The signed-vote log")',
    );
  provisionSignedVoteLog(dataDir);
  console.log(JSON.stringify({ signedVoteLog: join(dataDir, SIGNED_VOTE_LOG) }));
}

export function keysEncrypt(args: string[]): void {
  const v = parse(args, {
    key: { type: 'string' },
    out: { type: 'string' },
    'passphrase-file': { type: 'string' },
  });
  const from = required(v.key, 'key');
  const to = required(v.out, 'out');
  refuseExisting(to);
  const passphrase = readNewPassphrase(passphraseFileOf(v['passphrase-file']));
  const keyPair = readKeyFile(from, { allowPlaintext: true });
  writeEncryptedKeyFile(to, keyPair, passphrase);
  console.log(JSON.stringify({ publicKey: keyPair.publicKey, keyFile: to, encrypted: true }));
  console.error(
    `now check that ${to} opens (start the node with it), then delete ${from} for good (shred -u)`,
  );
}

export async function keysHsmGenerate(args: string[]): Promise<void> {
  const v = parse(args, { hsm: { type: 'string' }, 'data-dir': { type: 'string' } });
  const config = readHsmFile(required(v.hsm, 'hsm'));
  const { hsmGenerate } = await loadPkcs11();
  const publicKey = hsmGenerate(config);
  const signedVoteLog = provisionLog(v['data-dir']);
  console.log(
    JSON.stringify({
      publicKey,
      token: config.token,
      keyLabel: config.keyLabel,
      ...(signedVoteLog ? { signedVoteLog } : {}),
    }),
  );
}

export async function keysHsmImport(args: string[]): Promise<void> {
  const v = parse(args, {
    key: { type: 'string' },
    hsm: { type: 'string' },
    'passphrase-file': { type: 'string' },
  });
  const config = readHsmFile(required(v.hsm, 'hsm'));
  const keyPair = readKeyFile(required(v.key, 'key'), { passphraseFile: v['passphrase-file'] });
  const { hsmImport, Pkcs11Signer } = await loadPkcs11();
  const publicKey = hsmImport(config, keyPair);
  // Opening signs once and verifies: the imported key works before the operator deletes the file.
  Pkcs11Signer.open(config).close();
  console.log(JSON.stringify({ publicKey, token: config.token, keyLabel: config.keyLabel }));
  console.error(
    `the key is in the HSM; keep ${v.key} only as an offline backup (deploy/OPERATIONS.md), or delete it`,
  );
}
