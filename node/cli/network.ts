/**
 * `tillid network init`: a genesis for a list of municipalities plus one config per node.
 * `tillid network up`: a local development network on this machine, one process per node.
 *
 * For a real network each municipality generates its key on its own host (`tillid keys generate`)
 * and shares only its public key; `init` is then given those keys. Without one, `init` generates
 * a throwaway development key next to that node's config and says so: encrypted, with its random
 * passphrase in a file beside it named THROWAWAY-DEVELOPMENT.passphrase. A municipality whose key is
 * in an HSM (`--hsm "Name=hsm.json"`) gets the `hsm` object in its config and no key file; its
 * public key is read from the token.
 */

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULTS } from '../config.ts';
import { provisionSignedVoteLog } from '../consensus/tendermint/file-signed-log.ts';
import { writeEncryptedKeyFile } from '../custody/key-file.ts';
import { THROWAWAY_PASSPHRASE_FILE, writeRandomPassphrase } from '../custody/passphrase.ts';
import type { HsmConfig } from '../custody/pkcs11.ts';
import { hostMultiaddr, parseHostPort } from '../p2p/address.ts';
import { peerIdForPublicKey } from '../p2p/identity.ts';
import {
  type Authority,
  type ChainParams,
  DEFAULT_PARAMS,
  decodeGenesis,
  type Genesis,
  genesisHash,
} from '../protocol/genesis.ts';
import { generateKeyPair, isValidPublicKey } from '../protocol/signature.ts';
import { DAY_MS } from '../state/contracts/calendar.ts';
import { parse, UsageError } from './args.ts';
import { hsmConfigFor, hsmPublicKey, readHsmFile } from './hsm-file.ts';
import { placeNodes } from './network-places.ts';
import { NODE_ENV, NODE_FLAGS } from './node-flags.ts';

export interface MunicipalityInput {
  name: string;
  cvr: string;
  publicKey?: string;
  /** Its own host (DNS name or IP) on a network of separate hosts; the p2p port there, default 7201. */
  host?: string;
  port?: number;
  /** Its key is in this HSM (`keys hsm-generate`): the config names it instead of a key file. */
  hsm?: HsmConfig;
}

/**
 * The default development network: four municipalities. Høje-Taastrup ran the 2018 pilot; 29189846
 * and 11111111 are the test CVRs of public examples, the other two CVRs are placeholders.
 */
export const DEV_MUNICIPALITIES: MunicipalityInput[] = [
  { name: 'Høje-Taastrup Kommune', cvr: '29189846' },
  { name: 'Albertslund Kommune', cvr: '11111111' },
  { name: 'Ballerup Kommune', cvr: '22222222' },
  { name: 'Glostrup Kommune', cvr: '33333333' },
];

const slug = (name: string) =>
  name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/æ/g, 'ae')
    .replace(/ø/g, 'oe')
    .replace(/å/g, 'aa')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

export interface InitOptions {
  out: string;
  chainId: string;
  municipalities: MunicipalityInput[];
  /**
   * All on one host: API ports basePort, basePort + 1, …; p2p ports basePort + 100, + 101, ….
   * Separate hosts (every municipality has a `host`): API basePort and p2p basePort + 100 on each.
   */
  basePort: number;
  /** One host for every node (when no municipality has its own): where they reach each other. */
  host: string;
  /** The API's bind address; default 127.0.0.1 on one host, 0.0.0.0 on separate hosts. */
  apiHost?: string;
  blockIntervalMs: number;
  genesisTime: number;
  /** The business clock (`genesis.params.clock`); block time when absent. */
  clock?: ChainParams['clock'];
}

/**
 * An accelerated business clock for development networks: each block advances business time by
 * `daysPerBlock` days, from midnight UTC of the genesis day, so a year of monthly due dates passes
 * in a few hundred blocks (minutes) rather than a year.
 */
export function acceleratedClock(daysPerBlock: number, genesisTime: number): ChainParams['clock'] {
  if (!(daysPerBlock > 0 && daysPerBlock <= 31))
    throw new UsageError('--business-days-per-block must be a number above 0 and at most 31');
  return {
    kind: 'accelerated',
    origin: Math.floor(genesisTime / DAY_MS) * DAY_MS,
    msPerBlock: Math.round(daysPerBlock * DAY_MS),
  };
}

/**
 * Writes genesis.json and `<slug>/config.json` per municipality. With more than one municipality
 * each config also gets the p2p addresses of all the others (a static peer list).
 */
export async function initNetwork(
  o: InitOptions,
): Promise<{ genesis: Genesis; nodeDirs: string[]; generatedKeys: string[] }> {
  if (existsSync(join(o.out, 'genesis.json'))) throw new UsageError(`${o.out} already holds a network`);
  // Every address is checked before anything is written.
  const places = placeNodes(o);
  // So is every HSM key: opened (it must be there and sign) and its public key read.
  const hsmKeys = await Promise.all(o.municipalities.map((m) => (m.hsm ? hsmPublicKey(m.hsm) : undefined)));
  o.municipalities.forEach((m, i) => {
    const held = hsmKeys[i];
    if (held !== undefined && m.publicKey !== undefined && m.publicKey !== held)
      throw new UsageError(`${m.name}: the public key given is not the key in its HSM (${held})`);
  });
  // Keys are made in memory and the genesis is decoded (CVRs, names, keys checked) before the first
  // file is written: a refused network leaves no half-made folder behind.
  const authorities: Authority[] = [];
  const nodeDirs: string[] = [];
  const newKeys = new Map<number, ReturnType<typeof generateKeyPair>>();
  o.municipalities.forEach((m, i) => {
    nodeDirs.push(join(o.out, slug(m.name) || `node-${i + 1}`));
    let publicKey = m.publicKey;
    if (m.hsm !== undefined) {
      publicKey = hsmKeys[i] as string;
    } else if (publicKey === undefined) {
      const keyPair = generateKeyPair();
      newKeys.set(i, keyPair);
      publicKey = keyPair.publicKey;
    } else if (!isValidPublicKey(publicKey)) {
      throw new UsageError(`${m.name}: invalid public key`);
    }
    authorities.push({ name: m.name, cvr: m.cvr, publicKey, address: places[i]?.address as string });
  });
  const genesis = decodeGenesis({
    chainId: o.chainId,
    genesisTime: o.genesisTime,
    authorities,
    params: o.clock ? { ...DEFAULT_PARAMS, clock: o.clock } : DEFAULT_PARAMS,
  });
  const addresses = await Promise.all(
    authorities.map(async (a) => `${a.address}/p2p/${await peerIdForPublicKey(a.publicKey)}`),
  );
  mkdirSync(o.out, { recursive: true });
  const generatedKeys: string[] = [];
  authorities.forEach((a, i) => {
    const dir = nodeDirs[i] as string;
    mkdirSync(dir, { recursive: true });
    const keyPair = newKeys.get(i);
    if (keyPair !== undefined) {
      // Encrypted like a real key, under a random passphrase kept beside it and named as what it is.
      const passphrase = writeRandomPassphrase(join(dir, THROWAWAY_PASSPHRASE_FILE));
      writeEncryptedKeyFile(join(dir, 'key.json'), keyPair, passphrase);
      generatedKeys.push(join(dir, 'key.json'));
    }
    // Before its genesis exists no key can have signed for this chain (signatures name the chain):
    // each node starts with a complete, empty vote log (file-signed-log.ts).
    provisionSignedVoteLog(join(dir, 'data'));
    const place = places[i] as (typeof places)[number];
    const config = {
      name: a.name,
      genesisFile: '../genesis.json',
      ...keySource(o.municipalities[i] as MunicipalityInput, dir),
      dataDir: 'data',
      api: place.api,
      blockIntervalMs: o.blockIntervalMs,
      // On the accelerated business clock each block is business time (a day, say), so a quiet
      // development chain must keep making blocks for due dates to come; on block time it need not.
      ...(o.clock?.kind === 'accelerated' ? { emptyBlockIntervalMs: o.blockIntervalMs } : {}),
      logLevel: 'info',
      ...(authorities.length > 1
        ? {
            p2p: {
              listen: [place.listen],
              // Its genesis address only: peers never learn 0.0.0.0 or a private address from it.
              announce: [place.address],
              peers: addresses.filter((_, j) => j !== i),
              observers: [],
            },
          }
        : {}),
    };
    writeFileSync(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  });
  writeFileSync(join(o.out, 'genesis.json'), `${JSON.stringify(genesis, null, 2)}\n`);
  return { genesis, nodeDirs, generatedKeys };
}

/**
 * Where a node's config finds its key: the HSM; else `key.json` beside it — a generated throwaway
 * key with its passphrase file, or a member's own key whose passphrase comes from
 * TILLID_PASSPHRASE_FILE or a mounted secret.
 */
function keySource(m: MunicipalityInput, dir: string): Record<string, unknown> {
  if (m.hsm) return { hsm: hsmConfigFor(m.hsm, dir) };
  return {
    keyFile: 'key.json',
    ...(m.publicKey === undefined ? { passphraseFile: THROWAWAY_PASSPHRASE_FILE } : {}),
  };
}

/** `--hsm "Name=hsm.json"` (or `CVR=hsm.json`): that municipality's key is in an HSM. */
function withHsms(municipalities: MunicipalityInput[], hsms: string[]): MunicipalityInput[] {
  const given = new Map<MunicipalityInput, HsmConfig>();
  for (const text of hsms) {
    const at = text.indexOf('=');
    if (at <= 0) throw new UsageError(`--hsm "${text}": expected Name=hsm.json`);
    const who = text.slice(0, at);
    const m = municipalities.find((x) => x.name === who || x.cvr === who);
    if (!m) throw new UsageError(`--hsm "${text}": no municipality named ${who}`);
    if (given.has(m)) throw new UsageError(`--hsm: ${who} given twice`);
    given.set(m, readHsmFile(text.slice(at + 1)));
  }
  return municipalities.map((m) => {
    const hsm = given.get(m);
    return hsm ? { ...m, hsm } : m;
  });
}

/** A JSON array of `{ name, cvr, publicKey?, host? }`, host as `host[:p2pPort]`. */
function readMunicipalities(file: string): MunicipalityInput[] {
  const list = JSON.parse(readFileSync(file, 'utf8'));
  if (!Array.isArray(list))
    throw new UsageError(`${file}: expected a JSON array of { name, cvr, publicKey?, host? }`);
  return list.map((m: MunicipalityInput & { host?: unknown }) => {
    if (m.host === undefined) return m;
    if (typeof m.host !== 'string') throw new UsageError(`${file}: ${m.name}: host must be "host[:port]"`);
    return { ...m, ...hostPort(m.host, m.name) };
  });
}

function hostPort(text: string, name: string): { host: string; port?: number } {
  try {
    const { host, port } = parseHostPort(text);
    hostMultiaddr(host, port ?? 1); // an IP or a DNS name, refused here rather than after the others
    return port === undefined ? { host } : { host, port };
  } catch (e) {
    throw new UsageError(`${name}: ${(e as Error).message}`);
  }
}

/** `--member "Name=host[:port]"` (or `CVR=host[:port]`): that municipality's own host. */
function withMembers(municipalities: MunicipalityInput[], members: string[]): MunicipalityInput[] {
  const hosts = new Map<MunicipalityInput, { host: string; port?: number }>();
  for (const text of members) {
    const at = text.lastIndexOf('=');
    if (at <= 0) throw new UsageError(`--member "${text}": expected Name=host[:port]`);
    const who = text.slice(0, at);
    const m = municipalities.find((x) => x.name === who || x.cvr === who);
    if (!m) throw new UsageError(`--member "${text}": no municipality named ${who}`);
    if (hosts.has(m)) throw new UsageError(`--member: ${who} given twice`);
    hosts.set(m, hostPort(text.slice(at + 1), who));
  }
  return municipalities.map((m) => ({ ...m, ...hosts.get(m) }));
}

/** `--municipality "Name:CVR[:publicKey]"` */
function parseMunicipality(text: string): MunicipalityInput {
  const [name, cvr, publicKey] = text.split(':');
  if (!name || !cvr) throw new UsageError(`--municipality "${text}": expected Name:CVR[:publicKey]`);
  return publicKey ? { name, cvr, publicKey } : { name, cvr };
}

export async function networkInit(args: string[]): Promise<void> {
  const v = parse(args, {
    out: { type: 'string', default: '.tillid/network' },
    'chain-id': { type: 'string', default: 'tillid-local' },
    municipalities: { type: 'string' },
    municipality: { type: 'string', multiple: true },
    'base-port': { type: 'string', default: String(DEFAULTS.api.port) },
    'block-interval-ms': { type: 'string', default: String(DEFAULTS.blockIntervalMs) },
    host: { type: 'string', default: '127.0.0.1' },
    member: { type: 'string', multiple: true },
    hsm: { type: 'string', multiple: true },
    'api-host': { type: 'string' },
    'business-days-per-block': { type: 'string' },
  });
  const listed = v.municipalities
    ? readMunicipalities(v.municipalities)
    : v.municipality
      ? v.municipality.map(parseMunicipality)
      : DEV_MUNICIPALITIES;
  const placed = v.member ? withMembers(listed, v.member) : listed;
  const municipalities = v.hsm ? withHsms(placed, v.hsm) : placed;
  const now = Date.now();
  const result = await initNetwork({
    out: v.out,
    chainId: v['chain-id'],
    municipalities,
    basePort: Number(v['base-port']),
    host: v.host,
    ...(v['api-host'] ? { apiHost: v['api-host'] } : {}),
    blockIntervalMs: Number(v['block-interval-ms']),
    genesisTime: now,
    ...(v['business-days-per-block']
      ? { clock: acceleratedClock(Number(v['business-days-per-block']), now) }
      : {}),
  });
  for (const key of result.generatedKeys)
    console.error(
      `generated a THROWAWAY development key: ${key} (its passphrase beside it: ${THROWAWAY_PASSPHRASE_FILE})`,
    );
  console.log(JSON.stringify({ genesisHash: genesisHash(result.genesis), nodes: result.nodeDirs }, null, 2));
}

const CLI = join(dirname(fileURLToPath(import.meta.url)), 'tillid.ts');

/**
 * Starts every node of a network directory as its own process (creating a development network
 * first if the directory is empty) and stops them all on Ctrl-C.
 */
export async function networkUp(args: string[]): Promise<void> {
  const v = parse(args, { dir: { type: 'string', default: '.tillid/local' } });
  const dir = resolve(v.dir);
  if (!existsSync(join(dir, 'genesis.json'))) {
    const { generatedKeys } = await initNetwork({
      out: dir,
      chainId: 'tillid-local',
      municipalities: DEV_MUNICIPALITIES,
      basePort: DEFAULTS.api.port,
      host: '127.0.0.1',
      blockIntervalMs: DEFAULTS.blockIntervalMs,
      genesisTime: Date.now(),
      // One business day per block: a 12-month placement case plays out in about three minutes.
      clock: acceleratedClock(1, Date.now()),
    });
    console.error(`created a development network in ${dir} with ${generatedKeys.length} throwaway keys`);
  }
  const configs = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'config.json')))
    .map((e) => join(dir, e.name, 'config.json'))
    .sort();
  const children = configs.map((config) =>
    spawn(process.execPath, [...NODE_FLAGS, CLI, 'node', 'start', '--config', config], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, ...NODE_ENV },
    }),
  );
  for (const config of configs) {
    const { api, name } = JSON.parse(readFileSync(config, 'utf8'));
    console.error(`${name}: ${api.tls ? 'https' : 'http'}://${api.host}:${api.port}/v1/status`);
  }
  // Ctrl-C stops every node. A node that dies on its own is reported and the rest keep running,
  // as they would in production: that is how a consortium network is meant to behave.
  let stopping = false;
  const stopAll = () => {
    stopping = true;
    for (const child of children) child.kill('SIGTERM');
  };
  process.on('SIGINT', stopAll);
  process.on('SIGTERM', stopAll);
  await Promise.all(
    children.map(
      (child, i) =>
        new Promise<void>((done) =>
          child.on('exit', (code, signal) => {
            if (!stopping) {
              console.error(
                `node ${configs[i]} exited (${signal ?? code}); the others keep running. Restart it with:\n` +
                  `  npm run tillid -- node start --config ${configs[i]}`,
              );
              process.exitCode = 1;
            }
            done();
          }),
        ),
    ),
  );
}
