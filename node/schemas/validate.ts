/**
 * Payload validation against a schema, with the node's error: `TX_PAYLOAD_INVALID` naming the first
 * problem and its path in the payload (`items[0].monthly`; an unknown field by its name; anything
 * inside an `as` claim as that claim, so a message never echoes what was claimed). "First" is
 * stable and readable: the `as` claim, then unknown fields, then the fields in schema order.
 */
import type { TObject } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors';
import { TillidError } from '../protocol/errors.ts';

const pathOf = (segments: readonly string[]): string =>
  segments.reduce((p, s) => (/^\d+$/.test(s) ? `${p}[${s}]` : p ? `${p}.${s}` : s), '');

/** Where a problem is reported: inside a claim or a key, at the claim or the key as a whole. */
export type Collapse = (segments: readonly string[]) => readonly string[];

/** Anything inside an `as` claim is reported as the claim. */
export const collapseActing: Collapse = (segments) => {
  const at = segments.indexOf('as');
  return at >= 0 ? segments.slice(0, at + 1) : segments;
};

function describe(error: ValueError, collapse: Collapse): { path: string; message: string } {
  const segments = error.path.split('/').slice(1);
  const collapsed = collapse(segments);
  if (collapsed.length < segments.length) {
    const path = pathOf(collapsed);
    return { path, message: `${path}: ${describeSchema(error)}` };
  }
  if (error.type === ValueErrorType.ObjectAdditionalProperties) {
    const field = segments[segments.length - 1] as string;
    return { path: field, message: `unknown field ${field}` };
  }
  const path = pathOf(segments);
  return { path, message: `${path || 'payload'}: ${describeSchema(error)}` };
}

const describeSchema = (error: ValueError): string =>
  (error.schema as { description?: string }).description ?? error.message;

/** A compiled check for `schema`: throws on the first problem. */
export function payloadValidator(
  schema: TObject,
  where: string,
  collapse: Collapse = collapseActing,
): (payload: unknown) => void {
  const compiled = TypeCompiler.Compile(schema);
  const order = Object.keys(schema.properties);
  const rank = (e: ValueError): number => {
    const top = e.path.split('/')[1] ?? '';
    if (top === 'as') return -2;
    if (e.type === ValueErrorType.ObjectAdditionalProperties && e.path.split('/').length === 2) return -1;
    const i = order.indexOf(top);
    return i < 0 ? order.length : i;
  };
  return (payload) => {
    if (compiled.Check(payload)) return;
    const errors = [...compiled.Errors(payload)];
    // Stable: within a rank, the order the schema walk found them.
    const first = errors.map((e, i) => ({ e, i })).sort((a, b) => rank(a.e) - rank(b.e) || a.i - b.i)[0]?.e;
    if (!first) throw new TillidError('TX_PAYLOAD_INVALID', `${where}: invalid payload`);
    const { path, message } = describe(first, collapse);
    throw new TillidError('TX_PAYLOAD_INVALID', `${where}: ${message}`, path ? { path } : undefined);
  };
}
