/**
 * First-start initialisation of a network in containers: one key per node, written only into that
 * node's own directory (its volume), a genesis naming the authorities, and a config per node whose
 * peers are the other containers by DNS name (`/dns4/<service>/tcp/7201/p2p/<peer id>`), so a
 * container keeps its identity when Docker gives it a new IP address.
 *
 *   node deploy/init.ts --out /out --chain-id tillid-compose \
 *     --authority "node-1=Høje-Taastrup Kommune:29189846" … [--observer "observer-1=Name"] …
 *
 * `<out>/<id>` is node `<id>`'s directory; a node container mounts it as /var/lib/tillid. Running it
 * again changes nothing once every directory holds a genesis (data survives `compose down`/`up`).
 * Run as root (the compose init service does), it hands each directory to the node's user.
 *
 * This generates the keys of every node on one machine: right for a development or test network.
 * Municipalities running a real network generate their keys on their own hosts (deploy/CEREMONY.md).
 */
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { acceleratedClock } from '../node/cli/network.ts';
import { provisionSignedVoteLog } from '../node/consensus/tendermint/file-signed-log.ts';
import { writeEncryptedKeyFile } from '../node/custody/key-file.ts';
import { THROWAWAY_PASSPHRASE_FILE, writeRandomPassphrase } from '../node/custody/passphrase.ts';
import { peerIdForPublicKey } from '../node/p2p/identity.ts';
import { type Authority, DEFAULT_PARAMS, decodeGenesis, genesisHash } from '../node/protocol/genesis.ts';
import { generateKeyPair } from '../node/protocol/signature.ts';

export interface ContainerNode {
  /** Container / compose service name, also its DNS name on the network. */
  readonly id: string;
  readonly name: string;
  readonly cvr?: string;
  readonly role: 'authority' | 'observer';
}

export interface ContainerNetworkOptions {
  readonly out: string;
  readonly chainId: string;
  readonly nodes: readonly ContainerNode[];
  readonly apiPort?: number;
  readonly p2pPort?: number;
  readonly blockIntervalMs?: number;
  readonly emptyBlockIntervalMs?: number;
  readonly timeouts?: { proposeMs: number; prevoteMs: number; precommitMs: number; perRoundMs: number };
  readonly logLevel?: string;
  /** An accelerated business clock (`genesis.params.clock`): days per block; block time when absent. */
  readonly businessDaysPerBlock?: number;
  /** uid:gid to own each node's directory (only when running as root). */
  readonly owner?: { uid: number; gid: number };
}

export interface InitializedNode extends ContainerNode {
  readonly dir: string;
  readonly publicKey: string;
  readonly peerId: string;
}

export interface InitializedNetwork {
  readonly genesisHash: string;
  readonly created: boolean;
  readonly nodes: readonly InitializedNode[];
}

const P2P_PORT = 7201;
const API_PORT = 7101;

/** Writes `<out>/<id>/{key,config,genesis}.json` per node, unless every node already has a genesis. */
export async function initContainerNetwork(o: ContainerNetworkOptions): Promise<InitializedNetwork> {
  const authorities = o.nodes.filter((n) => n.role === 'authority');
  if (authorities.length === 0) throw new Error('at least one authority is needed');
  if (new Set(o.nodes.map((n) => n.id)).size !== o.nodes.length) throw new Error('node ids must be unique');
  const p2pPort = o.p2pPort ?? P2P_PORT;
  const dirs = o.nodes.map((n) => join(o.out, n.id));
  const done = dirs.filter((d) => existsSync(join(d, 'genesis.json')));
  if (done.length === dirs.length) {
    const genesis = readFileSync(join(dirs[0] as string, 'genesis.json'), 'utf8');
    const nodes = await Promise.all(
      o.nodes.map(async (n, i) => {
        const { publicKey } = JSON.parse(readFileSync(join(dirs[i] as string, 'key.json'), 'utf8'));
        return { ...n, dir: dirs[i] as string, publicKey, peerId: await peerIdForPublicKey(publicKey) };
      }),
    );
    return { genesisHash: genesisHash(decodeGenesis(JSON.parse(genesis))), created: false, nodes };
  }
  if (done.length > 0)
    throw new Error(
      `only some node directories hold a genesis (${done.join(', ')}): refusing to make a second network; ` +
        'remove all the volumes to start over',
    );
  // A first start that died half-way left no genesis anywhere: start those directories afresh.
  const nodes: InitializedNode[] = [];
  for (const [i, n] of o.nodes.entries()) {
    const dir = dirs[i] as string;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const stale of ['key.json', 'config.json', THROWAWAY_PASSPHRASE_FILE])
      rmSync(join(dir, stale), { force: true });
    // Encrypted under a random passphrase beside it: a test network's keys, marked as throwaway.
    const key = generateKeyPair();
    writeEncryptedKeyFile(
      join(dir, 'key.json'),
      key,
      writeRandomPassphrase(join(dir, THROWAWAY_PASSPHRASE_FILE)),
    );
    // A key made just now has signed nothing: its node starts with a complete (empty) vote log.
    provisionSignedVoteLog(join(dir, 'data'));
    nodes.push({ ...n, dir, publicKey: key.publicKey, peerId: await peerIdForPublicKey(key.publicKey) });
  }
  const address = (n: InitializedNode) => `/dns4/${n.id}/tcp/${p2pPort}`;
  const genesisTime = Date.now();
  const genesis = decodeGenesis({
    chainId: o.chainId,
    genesisTime,
    authorities: nodes
      .filter((n) => n.role === 'authority')
      .map(
        (n): Authority => ({
          name: n.name,
          cvr: n.cvr ?? '00000000',
          publicKey: n.publicKey,
          address: address(n),
        }),
      ),
    params: {
      ...DEFAULT_PARAMS,
      ...(o.businessDaysPerBlock ? { clock: acceleratedClock(o.businessDaysPerBlock, genesisTime) } : {}),
    },
  });
  const authorityNodes = nodes.filter((n) => n.role === 'authority');
  const observerKeys = nodes.filter((n) => n.role === 'observer').map((n) => n.publicKey);
  const consortium = nodes.length > 1;
  for (const n of nodes) {
    const config = {
      name: n.name,
      genesisFile: 'genesis.json',
      keyFile: 'key.json',
      passphraseFile: THROWAWAY_PASSPHRASE_FILE,
      dataDir: 'data',
      api: { host: '0.0.0.0', port: o.apiPort ?? API_PORT },
      blockIntervalMs: o.blockIntervalMs ?? 500,
      // On the accelerated business clock blocks are business time: empty ones at the block pace
      // unless told otherwise (as `tillid network init` does).
      ...(o.emptyBlockIntervalMs || o.businessDaysPerBlock
        ? { emptyBlockIntervalMs: o.emptyBlockIntervalMs || (o.blockIntervalMs ?? 500) }
        : {}),
      logLevel: o.logLevel ?? 'info',
      ...(o.timeouts ? { timeouts: o.timeouts } : {}),
      ...(consortium
        ? {
            p2p: {
              listen: [`/ip4/0.0.0.0/tcp/${p2pPort}`],
              // Authorities keep each other connected; observers dial the authorities.
              peers: authorityNodes.filter((a) => a !== n).map((a) => `${address(a)}/p2p/${a.peerId}`),
              observers: n.role === 'authority' ? observerKeys : [],
            },
          }
        : {}),
    };
    writeFileSync(join(n.dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  }
  // The genesis goes last: its presence in every directory marks a finished initialisation.
  for (const n of nodes) writeFileSync(join(n.dir, 'genesis.json'), `${JSON.stringify(genesis, null, 2)}\n`);
  if (o.owner && process.getuid?.() === 0) for (const n of nodes) chownTree(n.dir, o.owner.uid, o.owner.gid);
  return { genesisHash: genesisHash(genesis), created: true, nodes };
}

function chownTree(dir: string, uid: number, gid: number): void {
  chownSync(dir, uid, gid);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) chownTree(path, uid, gid);
    else chownSync(path, uid, gid);
  }
}

/** "id=Name:CVR" for an authority, "id=Name" for an observer. */
function parseNode(text: string, role: ContainerNode['role']): ContainerNode {
  const m = /^([a-z0-9][a-z0-9_.-]*)=([^:]+)(?::(\d{8}))?$/.exec(text);
  if (!m) throw new Error(`--${role} "${text}": expected id=Name${role === 'authority' ? ':CVR' : ''}`);
  return { id: m[1] as string, name: m[2] as string, ...(m[3] ? { cvr: m[3] } : {}), role };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: '/out' },
      'chain-id': { type: 'string', default: 'tillid-compose' },
      authority: { type: 'string', multiple: true, default: [] },
      observer: { type: 'string', multiple: true, default: [] },
      'block-interval-ms': { type: 'string', default: '500' },
      'empty-block-interval-ms': { type: 'string' },
      owner: { type: 'string', default: '1000:1000' },
    },
  });
  try {
    const [uid, gid] = (values.owner as string).split(':').map(Number);
    const result = await initContainerNetwork({
      out: values.out as string,
      chainId: values['chain-id'] as string,
      nodes: [
        ...(values.authority as string[]).map((a) => parseNode(a, 'authority')),
        ...(values.observer as string[]).map((a) => parseNode(a, 'observer')),
      ],
      blockIntervalMs: Number(values['block-interval-ms']),
      ...(values['empty-block-interval-ms']
        ? { emptyBlockIntervalMs: Number(values['empty-block-interval-ms']) }
        : {}),
      owner: { uid: uid ?? 1000, gid: gid ?? 1000 },
    });
    console.log(
      JSON.stringify({
        created: result.created,
        genesisHash: result.genesisHash,
        nodes: result.nodes.map((n) => ({ id: n.id, role: n.role, publicKey: n.publicKey })),
      }),
    );
  } catch (e) {
    console.error(`init: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}
