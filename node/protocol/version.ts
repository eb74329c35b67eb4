/**
 * The versions a node announces, in /v1/status and in the libp2p identify handshake
 * (agentVersion `tillid/<software> protocol/<n>`).
 *
 * PROTOCOL_VERSION is the wire and consensus protocol: it is part of every gossip topic
 * (`/tillid/<chain>/<name>/<n>`) and of the block-sync protocol id (`/tillid/<chain>/sync/<n>`).
 * Nodes of different protocol versions therefore never exchange blocks or votes: an old node never
 * receives a message it cannot interpret, so it can neither crash on one nor fork because of one.
 * When it meets such a peer it says so (host.ts logs a warning naming both versions) and carries
 * on with the peers it shares a protocol with. Raising it is a coordinated upgrade (docs in
 * deploy/UPGRADES.md); software releases that keep the protocol upgrade one node at a time.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * 2: proposals carry their transactions by hash (consensus/compact-proposal.ts), and a node
 * fetches the ones it lacks (p2p/tx-fetch.ts). 1: proposals carried whole blocks.
 */
export const PROTOCOL_VERSION = 2;
/** The software release: package.json's `version` (also the image tag, docker/tags.ts), read once. */
export const SOFTWARE_VERSION: string = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8'),
).version;
export const AGENT_VERSION = `tillid/${SOFTWARE_VERSION} protocol/${PROTOCOL_VERSION}`;

/** `tillid/<software> protocol/<n>` → its parts; undefined for anything else. */
export function parseAgentVersion(
  agent: string | undefined,
): { software: string; protocol: number } | undefined {
  const m = /^tillid\/(\S+) protocol\/(\d{1,6})$/.exec(agent ?? '');
  return m ? { software: m[1] as string, protocol: Number(m[2]) } : undefined;
}
