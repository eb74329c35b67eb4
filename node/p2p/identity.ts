/**
 * A node's libp2p identity is its authority (or observer) Ed25519 key, so "which peer is this" and
 * "which municipality signed this" are the same question, and the allow-list is a list of keys.
 */
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import type { PeerId, PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { fromHex, type Hex, toHex } from '../protocol/hash.ts';
import type { KeyPair } from '../protocol/signature.ts';

export const libp2pKey = (keyPair: KeyPair): Promise<PrivateKey> =>
  generateKeyPairFromSeed('Ed25519', fromHex(keyPair.privateKey));

export async function peerIdOf(keyPair: KeyPair): Promise<PeerId> {
  return peerIdFromPrivateKey(await libp2pKey(keyPair));
}

/** The Ed25519 public key behind a peer id, hex; undefined for other key types. */
export function publicKeyOfPeer(peerId: PeerId): Hex | undefined {
  if (peerId.type !== 'Ed25519' || !peerId.publicKey) return undefined;
  return toHex(peerId.publicKey.raw);
}

/** The peer id string (12D3Koo…) for an authority public key, as used in multiaddrs. */
export async function peerIdForPublicKey(publicKey: Hex): Promise<string> {
  const { publicKeyFromRaw } = await import('@libp2p/crypto/keys');
  const { peerIdFromPublicKey } = await import('@libp2p/peer-id');
  return peerIdFromPublicKey(publicKeyFromRaw(fromHex(publicKey))).toString();
}

export { peerIdFromString };
