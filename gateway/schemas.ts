/** Schemas shared by the gateway's routes; the OpenAPI document at /docs is generated from them. */

export const errorSchema = {
  $id: 'GatewayError',
  type: 'object',
  description: 'Every 4xx/5xx carries a stable code a client can branch on.',
  properties: {
    code: { type: 'string', examples: ['NO_SERVICE_AGREEMENT'] },
    message: { type: 'string' },
    details: { type: 'object', additionalProperties: true },
  },
  required: ['code', 'message'],
} as const;

export const errorReplies = Object.fromEntries(
  [400, 401, 403, 404, 409, 413, 422, 429, 502, 503, 504].map((s) => [s, { $ref: 'GatewayError#' }]),
);
