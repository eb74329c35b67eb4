/** JSON schemas for the node API. The OpenAPI document at /docs is generated from these. */

const hex = (bytes: number) => ({ type: 'string', pattern: `^[0-9a-f]{${bytes * 2}}$` }) as const;

export const transactionSchema = {
  $id: 'Transaction',
  type: 'object',
  additionalProperties: false,
  required: ['chainId', 'type', 'payload', 'signer', 'nonce', 'expiresAt', 'signature'],
  properties: {
    chainId: { type: 'string', maxLength: 64 },
    type: { type: 'string', maxLength: 97, description: 'module.action, e.g. anchor.record' },
    payload: { type: 'object', additionalProperties: true },
    signer: hex(32),
    nonce: { type: 'string', minLength: 8, maxLength: 64 },
    expiresAt: { type: 'integer', minimum: 0, description: 'ms since the epoch' },
    signature: hex(64),
  },
} as const;

const header = {
  type: 'object',
  properties: {
    chainId: { type: 'string' },
    height: { type: 'integer' },
    parentHash: hex(32),
    txRoot: hex(32),
    stateRoot: hex(32),
    proposer: hex(32),
    timestamp: { type: 'integer' },
  },
} as const;

export const blockSchema = {
  $id: 'Block',
  type: 'object',
  properties: {
    hash: hex(32),
    header,
    transactions: { type: 'array', items: { $ref: 'Transaction#' } },
    certificate: {
      type: ['object', 'null'],
      properties: {
        height: { type: 'integer' },
        round: { type: 'integer' },
        blockHash: hex(32),
        signatures: {
          type: 'array',
          items: { type: 'object', properties: { authority: hex(32), signature: hex(64) } },
        },
      },
    },
  },
} as const;

export const transactionViewSchema = {
  type: 'object',
  properties: {
    hash: hex(32),
    status: { type: 'string', enum: ['pending', 'finalized', 'rejected'] },
    height: { type: 'integer' },
    index: { type: 'integer' },
    code: { type: 'string' },
    message: { type: 'string' },
  },
  required: ['hash', 'status'],
} as const;

export const blockReceiptsSchema = {
  type: 'object',
  description:
    "The receipt of each transaction in a finalized block, in block order: code 'OK', or the code (and message) its module refused it with.",
  properties: {
    height: { type: 'integer' },
    hash: { ...hex(32), description: 'the block hash' },
    receipts: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          hash: { ...hex(32), description: 'the transaction hash' },
          index: { type: 'integer' },
          code: { type: 'string', examples: ['OK', 'ANCHOR_EXISTS'] },
          message: { type: 'string' },
        },
        required: ['hash', 'index', 'code'],
      },
    },
  },
  required: ['height', 'hash', 'receipts'],
} as const;

export const statusSchema = {
  type: 'object',
  properties: {
    chainId: { type: 'string' },
    genesisHash: hex(32),
    height: { type: 'integer' },
    finalizedHeight: { type: 'integer' },
    headHash: hex(32),
    stateRoot: hex(32),
    authorities: {
      type: 'array',
      items: {
        type: 'object',
        properties: { name: { type: 'string' }, cvr: { type: 'string' }, publicKey: hex(32) },
      },
    },
    peers: { type: 'array', items: { type: 'string' } },
    mempool: {
      type: 'object',
      properties: { transactions: { type: 'integer' }, bytes: { type: 'integer' } },
    },
    clock: {
      type: 'object',
      description:
        "The business clock contracts keep time by: 'block-time', or 'accelerated' (origin + height × msPerBlock) on development networks.",
      properties: {
        kind: { type: 'string', enum: ['block-time', 'accelerated'] },
        origin: { type: 'integer' },
        msPerBlock: { type: 'integer' },
        businessDate: { type: 'string' },
      },
    },
    version: { type: 'string', description: 'The software release (same as softwareVersion)' },
    softwareVersion: { type: 'string' },
    protocolVersion: {
      type: 'integer',
      description:
        'The wire and consensus protocol; nodes of different protocols do not exchange blocks or votes',
    },
    peerAgents: {
      type: 'object',
      description:
        "Each connected peer's identify agent version (tillid/<software> protocol/<n>), by peer id",
      additionalProperties: { type: 'string' },
    },
    pacing: {
      type: 'object',
      description:
        "This node's block pacing (config blockIntervalMs, emptyBlockIntervalMs). Every authority should run the " +
        "same: `tillid network join` copies a member's into the newcomer's config.",
      properties: { blockIntervalMs: { type: 'integer' }, emptyBlockIntervalMs: { type: 'integer' } },
    },
  },
} as const;

export const hashParams = {
  type: 'object',
  properties: { hash: hex(32) },
  required: ['hash'],
} as const;

export const heightParams = {
  type: 'object',
  properties: { height: { type: 'string', pattern: '^(latest|[0-9]{1,15})$' } },
  required: ['height'],
} as const;

/** At most this many transactions per batch request. */
export const MAX_BATCH = 1000;

export const batchSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['transactions'],
  properties: {
    // Items are checked one by one by admission, so one bad item does not fail the others.
    transactions: { type: 'array', minItems: 1, maxItems: MAX_BATCH },
  },
} as const;

export const batchResultSchema = {
  type: 'object',
  properties: {
    accepted: { type: 'integer' },
    results: {
      type: 'array',
      items: {
        type: 'object',
        properties: { hash: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
} as const;
