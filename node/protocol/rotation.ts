/**
 * Key rotation's proof of possession: the new key signs "authority `from` of chain `chainId`
 * becomes `to`", under its own domain tag (`signingMessage('rotate', …)`). Here in `protocol`
 * because the chain verifies these bytes and clients sign them. Binding the chain and both keys
 * means a proof is good for exactly one rotation: it cannot move another authority onto the key,
 * nor be replayed on another chain.
 */
import { canonicalHash, type Hex } from './hash.ts';
import { signingMessage, verifySignature } from './signature.ts';

export const rotationMessage = (chainId: string, from: Hex, to: Hex): Uint8Array =>
  signingMessage('rotate', canonicalHash({ chainId, from, to }));

/** Whether `proof` is `to`'s signature of the rotation of `from` to `to` on `chainId`. */
export const rotationProofValid = (chainId: string, from: Hex, to: Hex, proof: Hex): boolean =>
  verifySignature(to, rotationMessage(chainId, from, to), proof);

/** The new key's proof, made with anything that signs (a key pair's Signer, an HSM later). */
export const proveRotation = (
  chainId: string,
  from: Hex,
  newKey: { readonly publicKey: Hex; sign(message: Uint8Array): Hex },
): Hex => newKey.sign(rotationMessage(chainId, from, newKey.publicKey));
