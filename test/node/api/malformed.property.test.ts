/**
 * Property: no request a client can send makes the node answer 5xx or change its chain. Hundreds of
 * generated requests — arbitrary JSON, valid transactions with one field mutated, CPR numbers
 * hidden in payloads, random bytes, wrong content types — against a real node whose block timer
 * is parked, so any accepted transaction would show up in the mempool or the state root.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { anchorTx, getJson, startTestNode } from '../../helpers.ts';

const FIELDS = ['chainId', 'type', 'payload', 'signer', 'nonce', 'expiresAt', 'signature'] as const;

const cprLike = fc
  .tuple(
    fc.integer({ min: 1, max: 28 }),
    fc.integer({ min: 1, max: 12 }),
    fc.integer({ min: 0, max: 99 }),
    fc.integer({ min: 0, max: 9999 }),
    fc.constantFrom('-', '', ' '),
  )
  .map(
    ([d, m, y, n, sep]) =>
      `${String(d).padStart(2, '0')}${String(m).padStart(2, '0')}${String(y).padStart(2, '0')}${sep}${String(n).padStart(4, '0')}`,
  );

test('generated malformed requests get 4xx with a code and leave the chain unchanged', async (t) => {
  const { url, key, genesis, node } = await startTestNode(t, { blockIntervalMs: 60_000 });
  const before = { height: node.chain.head.height, stateRoot: node.chain.head.stateRoot };
  const valid = () => anchorTx(key, genesis.chainId);

  const request = fc.oneof(
    // Arbitrary JSON where a transaction belongs, strings including lone surrogates.
    fc
      .jsonValue({ stringUnit: 'binary' })
      .map((v) => ({ body: JSON.stringify(v), type: 'application/json' })),
    // A valid transaction whose payload carries arbitrary UTF-16 (lone surrogates have no canonical form).
    fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).map((text) => {
      const tx = valid();
      return {
        body: JSON.stringify({ ...tx, payload: { ...tx.payload, ref: text } }),
        type: 'application/json',
      };
    }),
    // A valid transaction with one field replaced by arbitrary JSON, or removed.
    fc
      .tuple(fc.constantFrom(...FIELDS), fc.option(fc.jsonValue(), { nil: undefined }))
      .map(([field, value]) => {
        const tx: Record<string, unknown> = { ...valid() };
        if (value === undefined) delete tx[field];
        else tx[field] = value;
        return { body: JSON.stringify(tx), type: 'application/json' };
      }),
    // A correctly signed transaction carrying a CPR number somewhere in its payload.
    fc.tuple(cprLike, fc.constantFrom('ref', 'docType')).map(([cpr, field]) => ({
      body: JSON.stringify(
        anchorTx(key, genesis.chainId, {
          [field]: field === 'ref' ? `case-${cpr.replace(' ', '-')}` : `r${cpr.replace(/\D/g, '')}`,
        }),
      ),
      type: 'application/json',
    })),
    // A valid transaction with extra fields at the top level or in the payload.
    fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue()).map(([k, v]) => {
      const tx = valid();
      return {
        body: JSON.stringify({ ...tx, payload: { ...tx.payload, [`x${k}`]: v } }),
        type: 'application/json',
      };
    }),
    // Raw bytes and text, with JSON or other content types.
    fc
      .tuple(
        fc.string({ maxLength: 200 }),
        fc.constantFrom('application/json', 'text/plain', 'application/xml', 'application/octet-stream'),
      )
      .map(([body, type]) => ({ body, type })),
  );

  await fc.assert(
    fc.asyncProperty(request, async ({ body, type }) => {
      const response = await fetch(`${url}/v1/transactions`, {
        method: 'POST',
        headers: { 'content-type': type },
        body,
      });
      const reply = (await response.json()) as { code?: unknown };
      assert.ok(
        response.status >= 400 && response.status < 500,
        `status ${response.status} for ${body.slice(0, 120)}`,
      );
      assert.equal(typeof reply.code, 'string');
    }),
    { numRuns: 400 },
  );

  // Arbitrary path parameters on the read routes.
  await fc.assert(
    fc.asyncProperty(
      fc.string({ maxLength: 80 }),
      fc.constantFrom('transactions', 'blocks', 'anchors'),
      async (param, route) => {
        const response = await fetch(`${url}/v1/${route}/${encodeURIComponent(param)}`);
        assert.ok(response.status < 500, `GET /v1/${route}/${param}: ${response.status}`);
      },
    ),
    { numRuns: 150 },
  );

  assert.equal(node.mempool.size, 0, 'nothing was admitted');
  assert.deepEqual({ height: node.chain.head.height, stateRoot: node.chain.head.stateRoot }, before);
  const status = await getJson(`${url}/v1/status`);
  assert.equal(status.height, before.height);
});
