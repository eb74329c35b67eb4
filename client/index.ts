/**
 * @tillid/client — build, sign and submit Tillid transactions and read the results. Encoding and
 * signatures are the node's own code (`node/protocol`), so there is one definition of both.
 */
export type { Json, JsonObject } from '../node/protocol/canonical.ts';
export { canonicalJson } from '../node/protocol/canonical.ts';
export { cosignDigest } from '../node/protocol/cosign.ts';
export type { Hex } from '../node/protocol/hash.ts';
export { generateKeyPair, type KeyPair, keyPairFromSeed } from '../node/protocol/signature.ts';
export { type Transaction, transactionHash } from '../node/protocol/transaction.ts';
export * from './http.ts';
export type * from './payloads.ts';
export * from './policies.ts';
export * from './session.ts';
export * from './transactions.ts';
