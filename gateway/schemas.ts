/** Schemas shared by the gateway's routes; the OpenAPI document at /docs is generated from them. */
import { errorReplies as replies } from '../node/api/errors.ts';

/** The one error schema (`Error`) of both servers lives in node/api/errors.ts. */
export { errorSchema } from '../node/api/errors.ts';

/** The error replies a gateway route may give; each is the one error schema (`Error`). */
export const errorReplies = replies([400, 401, 403, 404, 409, 413, 415, 422, 429, 502, 503, 504]);
