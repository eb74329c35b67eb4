/**
 * A node's libp2p identity is its authority (or observer) Ed25519 key, so "which peer is this" and
 * "which municipality signed this" are the same question, and the allow-list is a list of keys.
 */
import { generateKeyPairFromSeed, publicKeyFromRaw } from '@libp2p/crypto/keys';
import type { Ed25519PrivateKey, Ed25519PublicKey, PeerId, PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { fromHex, type Hex, toHex } from '../protocol/hash.ts';
import type { KeyPair, MessageSigner } from '../protocol/signature.ts';

/**
 * The node's identity for libp2p. A running node passes its `MessageSigner`, so the key may live in
 * an HSM: libp2p only ever asks its private key to sign (the noise handshake's identity proof)
 * and for its public key, never for the raw bytes, which an HSM would not give.
 */
export const libp2pKey = async (identity: KeyPair | MessageSigner): Promise<PrivateKey> =>
  'privateKey' in identity
    ? generateKeyPairFromSeed('Ed25519', fromHex(identity.privateKey))
    : signerBackedKey(identity);

function signerBackedKey(signer: MessageSigner): Ed25519PrivateKey {
  const publicKey = publicKeyFromRaw(fromHex(signer.publicKey)) as Ed25519PublicKey;
  return {
    type: 'Ed25519',
    publicKey,
    get raw(): Uint8Array {
      throw new Error('the node key signs through its signer; its private bytes are not available');
    },
    equals: (key?: { type?: string; publicKey?: { equals(k: unknown): boolean } }) =>
      key?.type === 'Ed25519' && key.publicKey?.equals(publicKey) === true,
    sign: (data) => fromHex(signer.sign(data instanceof Uint8Array ? data : data.subarray())),
  };
}

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
