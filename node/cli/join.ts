/**
 * `tillid network join`: a joining member's complete configuration — config.json, genesis.json and
 * its key — from the genesis it was given and the network as it is now, with no file edited by
 * hand. It asks one reachable member (`--from`, its node API) for its genesis hash and refuses a
 * network whose genesis differs from the joiner's; the peers are the on-chain addresses of the
 * authorities in the member's current schedule (`GET /v1/authorities`). It prints the public key
 * and on-chain address for the `authority propose` the existing members vote on: once the vote
 * takes effect they dial the new node at that address (p2p/node-host.ts), with no restart. With
 * `--hsm <hsm.json>` the key is the one in that HSM (`keys hsm-generate`): its public key is read
 * from the token and the config names the `hsm`, not a key file.
 */

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { DEFAULTS, defaultEmptyBlockIntervalMs, pacingProblem } from '../config.ts';
import { provisionSignedVoteLog } from '../consensus/tendermint/file-signed-log.ts';
import { keyFilePublicKey, writeEncryptedKeyFile } from '../custody/key-file.ts';
import { passphraseFileOf, readNewPassphrase } from '../custody/passphrase.ts';
import { readGenesis } from '../genesis-file.ts';
import { hostMultiaddr } from '../p2p/address.ts';
import { authorityPeers } from '../p2p/peers.ts';
import { genesisHash } from '../protocol/genesis.ts';
import { generateKeyPair } from '../protocol/signature.ts';
import type { ScheduledSet } from '../state/modules/governance-schedule.ts';
import { parse, required, UsageError } from './args.ts';
import { hsmConfigFor, hsmPublicKey, readHsmFile } from './hsm-file.ts';

async function getJson(url: string): Promise<Record<string, unknown>> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    throw new Error(`cannot reach ${url}: ${(e as Error).message}`);
  }
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return (await response.json()) as Record<string, unknown>;
}

/**
 * The newcomer's pacing: the member's, as its status shows it, unless the flags say otherwise.
 * Every authority should run the same: a newcomer left at the default ten-minute empty-block
 * wait idles whenever its proposer turn comes on a network that makes an empty block a second, so
 * each of its turns goes to round 1 (traced in test/node/consensus/joining.test.ts). A member of
 * an older release shows no pacing: then only the flags, or the defaults, with a warning.
 */
function joinPacing(
  shown: unknown,
  blockFlag: string | undefined,
  emptyFlag: string | undefined,
  from: string,
): { blockIntervalMs?: number; emptyBlockIntervalMs?: number } {
  const member = shown as { blockIntervalMs?: unknown; emptyBlockIntervalMs?: unknown } | undefined;
  const known =
    member !== undefined &&
    typeof member === 'object' &&
    typeof member.blockIntervalMs === 'number' &&
    typeof member.emptyBlockIntervalMs === 'number'
      ? { blockIntervalMs: member.blockIntervalMs, emptyBlockIntervalMs: member.emptyBlockIntervalMs }
      : undefined;
  if (known === undefined && blockFlag === undefined && emptyFlag === undefined) {
    console.error(
      `the member at ${from} does not show its block pacing (an older release): the config keeps the defaults; ` +
        "give --block-interval-ms and --empty-block-interval-ms with the members' values",
    );
    return {};
  }
  const flag = (name: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    if (!/^[0-9]{1,7}$/.test(value)) throw new UsageError(`--${name} must be a whole number of milliseconds`);
    return Number(value);
  };
  const blockIntervalMs =
    flag('block-interval-ms', blockFlag) ?? known?.blockIntervalMs ?? DEFAULTS.blockIntervalMs;
  const emptyBlockIntervalMs =
    flag('empty-block-interval-ms', emptyFlag) ??
    known?.emptyBlockIntervalMs ??
    defaultEmptyBlockIntervalMs(blockIntervalMs);
  const pacing = { blockIntervalMs, emptyBlockIntervalMs };
  // The rule a node applies at start (node/config.ts): join never writes a config that cannot start.
  const problem = pacingProblem(blockIntervalMs, emptyBlockIntervalMs);
  if (problem !== undefined) {
    const byFlags = blockFlag !== undefined || emptyFlag !== undefined;
    const source = byFlags ? 'the flags' : `the member at ${from}`;
    throw new (byFlags ? UsageError : Error)(
      `${source} give block pacing ${JSON.stringify(pacing)}: ${problem}`,
    );
  }
  return pacing;
}

export async function networkJoin(args: string[]): Promise<void> {
  const v = parse(args, {
    genesis: { type: 'string' },
    from: { type: 'string' },
    name: { type: 'string' },
    cvr: { type: 'string' },
    host: { type: 'string' },
    out: { type: 'string', default: '.' },
    key: { type: 'string' },
    hsm: { type: 'string' },
    'passphrase-file': { type: 'string' },
    'p2p-port': { type: 'string', default: '7201' },
    'api-host': { type: 'string', default: '127.0.0.1' },
    'api-port': { type: 'string', default: '7101' },
    'data-dir': { type: 'string', default: 'data' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'block-interval-ms': { type: 'string' },
    'empty-block-interval-ms': { type: 'string' },
  });
  if ((v['tls-cert'] === undefined) !== (v['tls-key'] === undefined))
    throw new UsageError('--tls-cert and --tls-key go together (the node API certificate and its key)');
  if (v.hsm !== undefined && (v.key !== undefined || v['passphrase-file'] !== undefined))
    throw new UsageError('--hsm names the key (in the HSM): give it without --key and --passphrase-file');
  const genesisFile = required(v.genesis, 'genesis');
  const from = required(v.from, 'from').replace(/\/+$/, '');
  const name = required(v.name, 'name');
  const cvr = required(v.cvr, 'cvr');
  const host = required(v.host, 'host');
  const p2pPort = Number(v['p2p-port']);
  const apiPort = Number(v['api-port']);
  for (const [flag, port] of [
    ['p2p-port', p2pPort],
    ['api-port', apiPort],
  ] as const)
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError(`--${flag} must be 0-65535`);
  const out = resolve(v.out);
  // Checked before anything is asked or written.
  let address: string;
  try {
    address = hostMultiaddr(host, p2pPort);
  } catch (e) {
    throw new UsageError(`--host: ${(e as Error).message}`);
  }
  for (const file of ['config.json', 'genesis.json'])
    if (existsSync(join(out, file)))
      throw new UsageError(`${join(out, file)} exists: this directory already holds a node`);

  // The HSM's key is opened (and its public key read) before the network is asked.
  const hsm = v.hsm !== undefined ? readHsmFile(v.hsm) : undefined;
  const hsmKey = hsm ? await hsmPublicKey(hsm) : undefined;
  const genesis = readGenesis(genesisFile);
  const ours = genesisHash(genesis);
  const status = await getJson(`${from}/v1/status`);
  if (status.genesisHash !== ours)
    throw new Error(
      `the network at ${from} runs genesis ${String(status.genesisHash)} (chain ${String(status.chainId)}), ` +
        `but ${genesisFile} has hash ${ours} (chain ${genesis.chainId}): wrong genesis file or wrong network; ` +
        'compare the hash with the members over a second channel (deploy/CEREMONY.md, step 4)',
    );
  const pacing = joinPacing(status.pacing, v['block-interval-ms'], v['empty-block-interval-ms'], from);
  const { schedule } = (await getJson(`${from}/v1/authorities`)) as { schedule: ScheduledSet[] };
  const latest = schedule.at(-1)?.authorities ?? genesis.authorities;

  mkdirSync(out, { recursive: true });
  const keyFile = resolve(v.key ?? join(out, 'key.json'));
  let generated = false;
  if (hsmKey === undefined && !existsSync(keyFile)) {
    // Encrypted, as every generated key: the passphrase from --passphrase-file, TILLID_PASSPHRASE_FILE
    // or the container secret the node will read it from too.
    writeEncryptedKeyFile(
      keyFile,
      generateKeyPair(),
      readNewPassphrase(passphraseFileOf(v['passphrase-file'])),
    );
    generated = true;
  }
  const publicKey = hsmKey ?? keyFilePublicKey(keyFile);
  const peers = await authorityPeers(latest, publicKey);
  // Paths as the node will see them: relative to the config's directory when inside it, else as
  // given (a bundle mounts its node/ directory at /etc/tillid and keeps the key in the volume).
  const inOut = (file: string) => {
    const rel = relative(out, file);
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
  };
  const config = {
    name,
    genesisFile: 'genesis.json',
    // The key in the HSM (node/config.ts), or the key file and its passphrase file.
    ...(hsm
      ? { hsm: hsmConfigFor(hsm, out) }
      : {
          keyFile: inOut(keyFile),
          ...(v['passphrase-file'] ? { passphraseFile: inOut(resolve(v['passphrase-file'])) } : {}),
        }),
    dataDir: v['data-dir'],
    ...pacing,
    api: {
      host: v['api-host'],
      port: apiPort,
      ...(v['tls-cert'] && v['tls-key'] ? { tls: { cert: v['tls-cert'], key: v['tls-key'] } } : {}),
    },
    logLevel: 'info',
    p2p: { listen: [`/ip4/0.0.0.0/tcp/${p2pPort}`], announce: [address], peers, observers: [] },
  };
  writeFileSync(join(out, 'genesis.json'), `${JSON.stringify(genesis, null, 2)}\n`);
  writeFileSync(join(out, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  if (generated) {
    // A key made just now has signed nothing: its node starts with a complete (empty) vote log. An
    // existing key may have signed: its node treats a missing log as lost (file-signed-log.ts).
    provisionSignedVoteLog(resolve(out, v['data-dir'] as string));
    console.error(`generated a new key: ${keyFile} (back it up; only its public key leaves this host)`);
  }
  if (latest.some((a) => a.publicKey === publicKey))
    console.error('this key is already an authority: no vote is needed, start the node');
  console.log(
    JSON.stringify(
      {
        genesisHash: ours,
        config: join(out, 'config.json'),
        publicKey,
        address,
        peers,
        pacing,
        propose:
          `tillid authority propose --key <member key> --action add --name '${name}' --cvr ${cvr} ` +
          `--public-key ${publicKey} --address ${address} --api <member API> --wait`,
      },
      null,
      2,
    ),
  );
}
