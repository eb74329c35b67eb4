/** The payload of `anchor.record`, defined once (the anchor module validates with it). */
import { Type } from '@sinclair/typebox';

export const anchorSchemas = {
  record: Type.Object(
    {
      hash: Type.String({ pattern: '^[0-9a-f]{64}$', description: '32 bytes of lowercase hex' }),
      docType: Type.String({
        pattern: '^[a-z][a-z0-9._-]{0,63}$',
        description: 'a short code, e.g. status-report',
      }),
      // An opaque reference (a document-system id, a URN). Free text is not allowed: no spaces.
      ref: Type.String({
        pattern: '^[A-Za-z0-9._:/#-]{1,128}$',
        description: 'an opaque reference of 1-128 characters [A-Za-z0-9._:/#-]',
      }),
    },
    { additionalProperties: false },
  ),
};
