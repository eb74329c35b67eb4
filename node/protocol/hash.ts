/** SHA-256 digests, hex-encoded. `crypto.hash` is the fastest one-shot hash on Node (see STACK.md). */
import { hash } from 'node:crypto';
import { canonicalBytes } from './canonical.ts';

export type Hex = string;

export const sha256 = (data: Uint8Array | string): Uint8Array =>
  new Uint8Array(hash('sha256', data, 'buffer'));

export const sha256Hex = (data: Uint8Array | string): Hex => hash('sha256', data, 'hex');

/** The hash of a value's canonical encoding: how every signed or hashed object is identified. */
export const canonicalHash = (value: unknown): Hex => sha256Hex(canonicalBytes(value));

export const toHex = (bytes: Uint8Array): Hex => Buffer.from(bytes).toString('hex');

export function fromHex(hex: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/.test(hex)) throw new TypeError('not lowercase hex');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export const isHex = (s: unknown, bytes: number): s is Hex =>
  typeof s === 'string' && s.length === bytes * 2 && /^[0-9a-f]*$/.test(s);

export const ZERO_HASH: Hex = '0'.repeat(64);
