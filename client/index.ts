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
export {
  type BlockReceipts,
  type ClientOptions,
  type EventPage,
  type NodeStatus,
  TillidClient,
  TillidClientError,
  type TransactionView,
  type WaitOptions,
} from './http.ts';
export type * from './payloads.ts';
export {
  allOf,
  anyOf,
  atLeastOf,
  bothParties,
  kOf,
  oneDirectorOrTwoCentreChiefs,
  pilotPolicies,
} from './policies.ts';
export { type ConnectOptions, connect, type SendOptions, Session } from './session.ts';
export {
  type BuilderOptions,
  type MotionDraft,
  type SignerLike,
  type SignOptions,
  type TransactionBuilder,
  transactions,
} from './transactions.ts';
