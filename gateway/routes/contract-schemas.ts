/**
 * The request and reply schemas of the contract routes. Request bodies are derived from the node's
 * payload schemas (`node/schemas/contract.ts`): the same definitions, so the gateway can never
 * accept what the chain refuses, and the OpenAPI document shows the chain's real limits. What the
 * gateway fills in itself (`as`, the contract from the URL) is left out; `role` is added.
 */
import { type TObject, type TProperties, Type } from '@sinclair/typebox';
import { type ContractSchemas, contractSchemas } from '../../node/schemas/contract.ts';
import { PartyKeyInput, partySchemas } from '../../node/schemas/party.ts';
import { ROLES } from '../../node/schemas/roles.ts';
import type { RouteAccess } from '../components.ts';
import { errorReplies } from '../schemas.ts';

/** An opaque reference to the person acting in the calling system; only its HMAC leaves the gateway. */
export const USER_HEADER = 'x-tillid-user';

const hash = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;

const role = Type.Union(
  ROLES.map((r) => Type.Literal(r)),
  {
    description:
      'the role to act in, when the caller holds several that allow the action; required on an approval by a caller who could approve in several roles (400 ROLE_REQUIRED)',
  },
);

/** `payload` without the fields the gateway fills in, plus `role`. */
function body(payload: TObject, omit: readonly string[]): TObject {
  const properties: TProperties = {};
  for (const [k, v] of Object.entries(payload.properties)) if (!omit.includes(k)) properties[k] = v;
  return Type.Object({ ...properties, role: Type.Optional(role) }, { additionalProperties: false });
}

export function contractBodies(schemas: ContractSchemas = contractSchemas()) {
  return {
    template: body(schemas.defineTemplate, ['as']),
    contract: body(schemas.create, ['as']),
    motion: body(schemas.propose, ['as', 'contract', 'cosignatures']),
    approval: body(schemas.approve, ['as', 'motion']),
    // party.register's CVR and key, the rest filled in by the gateway (kind, roles).
    provider: Type.Object(
      {
        cvr: partySchemas.register.properties.cvr,
        publicKey: Type.Optional(PartyKeyInput.properties.publicKey),
      },
      { additionalProperties: false },
    ),
    report: (() => {
      // A report is the provider's; it has no role to choose.
      const { role: _role, ...properties } = body(schemas.report, ['as', 'contract']).properties;
      return Type.Object(properties, { additionalProperties: false });
    })(),
  };
}
export type ContractBodies = ReturnType<typeof contractBodies>;

export const waitQuery = {
  type: 'object',
  properties: { wait: { type: 'string', enum: ['true', 'false'], description: 'wait for finality' } },
} as const;

/** `x-tillid-user`, documented on every route that takes it. */
export const userHeaders = {
  type: 'object',
  properties: {
    [USER_HEADER]: {
      type: 'string',
      pattern: '^[A-Za-z0-9._:@-]{1,128}$',
      description:
        'an opaque reference to the person acting in the calling system (only its HMAC reaches the chain). Two people of one system approve as two actors only when each call names its person; without it, the system is one actor (409 APPROVAL_EXISTS on a second approval).',
    },
  },
} as const;

export const idParams = { type: 'object', properties: { id: hash }, required: ['id'] } as const;

const submissionReply = {
  type: 'object',
  properties: {
    hash: { ...hash, description: 'the chain transaction' },
    id: { type: 'string', description: 'the id of what was created (contract, motion, template)' },
    status: { type: 'string', enum: ['pending', 'finalized'] },
    height: { type: 'integer' },
    block: {
      type: 'object',
      description: 'the block holding it, whose commit certificate the gateway verified',
      properties: { height: { type: 'integer' }, hash, signatures: { type: 'integer' } },
    },
  },
  required: ['hash', 'status'],
} as const;

export const writeReplies = { 200: submissionReply, 202: submissionReply, ...errorReplies };
/**
 * The options of a write route: its access rule, and a schema with the `wait` query, the
 * submission replies and (unless `user: false`) the `x-tillid-user` header.
 */
export function writeRoute<B>(
  access: RouteAccess,
  o: { description: string; params?: object; body: B; user?: false },
) {
  return {
    config: { access },
    schema: {
      description: o.description,
      ...(o.params ? { params: o.params } : {}),
      ...(o.user === false ? {} : { headers: userHeaders }),
      querystring: waitQuery,
      body: o.body,
      response: writeReplies,
    },
  };
}
export const anyObject = { type: 'object', additionalProperties: true } as const;
export const readReplies = { 200: anyObject, ...errorReplies };
export { hash };
