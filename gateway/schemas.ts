/** Schemas shared by the gateway's routes; the OpenAPI document at /docs is generated from them. */
import { errorReplies as replies } from '../node/api/errors.ts';

/** The error replies a gateway route may give; each is the one error schema (`Error`). */
export const errorReplies = replies([400, 401, 403, 404, 409, 413, 415, 422, 429, 502, 503, 504]);

/**
 * `x-tillid-user`: an opaque reference to the person acting in the calling system (never a CPR
 * number or a name; only its HMAC leaves the gateway). Two people of one system approve as two
 * approvers only when each sends their own; without it, every person of the system is one actor.
 */
export const actorHeaders = {
  type: 'object',
  properties: {
    'x-tillid-user': {
      type: 'string',
      pattern: '^[A-Za-z0-9._:@-]{1,128}$',
      description:
        'An opaque id of the person acting in the calling system (1-128 characters of A-Z a-z 0-9 . _ : @ -; no CPR number, no name). The chain records only its HMAC as the actor, so two people of one system count as two approvers only when each sends their own id; without it every person of the system is the same actor, and a second approval is refused with 409 APPROVAL_EXISTS.',
    },
  },
} as const;
