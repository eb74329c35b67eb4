/**
 * One error vocabulary: the documented lists (README.md "Error codes", gateway/README.md "Error
 * codes") are exactly the servers' tables, and malformed requests — bad `%` escapes, over-long path
 * parameters, wrong content types, huge bodies, unknown routes and methods, bad JSON, prototype
 * poisoning — fired at a real node and at a real gateway in front of it each get `{ code, message }`
 * with a documented code and its documented status. Before, a bad escape or an over-long parameter
 * got fastify's own body (`FST_ERR_BAD_URL`, `FST_ERR_MAX_PARAM_LENGTH`) from both servers.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { GatewayError, gatewayStatusOf } from '../../gateway/errors.ts';
import { httpStatusOf } from '../../node/protocol/errors.ts';
import { startTestNode, waitFor } from '../helpers.ts';
import { MUNICIPALITY, privilege, startGatewayFixture } from './harness.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** The `| \`CODE\` | status | … |` rows of the table under `heading` in a README. */
function documented(file: string, heading: string): Map<string, number> {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const start = text.indexOf(heading);
  assert.ok(start >= 0, `${file} has a section ${heading}`);
  const rest = text.slice(start + heading.length);
  const end = rest.search(/\n#{1,3} /);
  const section = end < 0 ? rest : rest.slice(0, end);
  const codes = new Map<string, number>();
  for (const [, code, status] of section.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(\d{3})\s*\|/gm))
    codes.set(code as string, Number(status));
  return codes;
}

const NODE_DOCS = documented('README.md', '### Error codes');
const GATEWAY_DOCS = new Map([...NODE_DOCS, ...documented('gateway/README.md', '## Error codes')]);

test('the documented codes are exactly the tables the servers answer with', () => {
  assert.deepEqual(Object.fromEntries(NODE_DOCS), { ...httpStatusOf }, 'README.md lists the node table');
  assert.deepEqual(
    Object.fromEntries(GATEWAY_DOCS),
    { ...gatewayStatusOf },
    'README.md + gateway/README.md list the gateway table',
  );
  // Codes from a newer node are not leaked: they leave as a documented code that names them.
  const unknown = GatewayError.fromNode('SOMETHING_NEW', 'refused');
  assert.equal(unknown.code, 'NODE_REFUSED');
  assert.match(unknown.message, /SOMETHING_NEW/);
});

interface Answer {
  status: number;
  body: string;
}

/** A request sent byte for byte as given: the path is not normalised or re-escaped. */
function send(
  base: string,
  method: string,
  path: string,
  o: { headers?: Record<string, string>; body?: Buffer | string; ca?: string } = {},
): Promise<Answer> {
  const url = new URL(base);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: {
          ...(o.body !== undefined ? { 'content-length': String(Buffer.byteLength(o.body)) } : {}),
          ...(o.headers ?? {}),
        },
        ...(o.ca ? { ca: o.ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

/** Bytes written straight to the server's socket; the raw answer, split into status and body. */
function rawExchange(base: string, bytes: string, ca?: string): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket =
      url.protocol === 'https:'
        ? tlsConnect({
            host: url.hostname,
            port: Number(url.port),
            ...(ca ? { ca } : {}),
            servername: 'localhost',
          })
        : tcpConnect({ host: url.hostname, port: Number(url.port) });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
    socket.write(bytes);
  });
}

/** Requests Node's HTTP parser refuses before the framework sees them. */
async function fireUnparsable(base: string, docs: Map<string, number>, ca?: string) {
  const answers = {
    'not HTTP': [await rawExchange(base, 'GARBAGE\r\n\r\n', ca), 'BAD_REQUEST'],
    'headers over the limit': [
      await send(base, 'GET', '/v1/status', {
        headers: { 'x-big': 'a'.repeat(20_000) },
        ...(ca ? { ca } : {}),
      }),
      'HEADERS_TOO_LARGE',
    ],
  } as const;
  for (const [name, [answer, code]] of Object.entries(answers)) {
    const body = JSON.parse(answer.body);
    assert.deepEqual(Object.keys(body).sort(), ['code', 'message'], `${name}: ${answer.body}`);
    assert.equal(body.code, code, `${name}: ${answer.body}`);
    assert.equal(answer.status, docs.get(code), `${name}: the documented status`);
  }
}

interface Case {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer | string;
  /** The documented code this request must get. */
  readonly code: string;
}

const json = { 'content-type': 'application/json' };
const long = 'a'.repeat(300);
const huge = Buffer.alloc(3 * 1024 * 1024, 'a');

/** Malformed requests, each with the code it must get; `write` is a route that takes a JSON body. */
const malformed = (write: string, param: (value: string) => string): Case[] => [
  { name: 'a bad % escape in a path parameter', method: 'GET', path: param('%zz'), code: 'BAD_REQUEST' },
  { name: 'a truncated UTF-8 escape', method: 'GET', path: param('%E0%A4%A'), code: 'BAD_REQUEST' },
  { name: 'an over-long path parameter', method: 'GET', path: param(long), code: 'BAD_REQUEST' },
  { name: 'an unknown route', method: 'GET', path: '/v1/nothing-here', code: 'NOT_FOUND' },
  { name: 'a missing OpenAPI page asset', method: 'GET', path: '/docs/static/nothing.js', code: 'NOT_FOUND' },
  { name: 'a bad escape in an OpenAPI asset', method: 'GET', path: '/docs/static/%zz', code: 'BAD_REQUEST' },
  { name: 'an unknown route with a bad escape', method: 'GET', path: '/v1/%zz/x', code: 'BAD_REQUEST' },
  { name: 'an unknown method', method: 'PATCH', path: write, headers: json, body: '{}', code: 'NOT_FOUND' },
  {
    name: 'a text body',
    method: 'POST',
    path: write,
    headers: { 'content-type': 'text/plain' },
    body: 'hello',
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'an XML body',
    method: 'POST',
    path: write,
    headers: { 'content-type': 'application/xml' },
    body: '<a/>',
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  { name: 'bad JSON', method: 'POST', path: write, headers: json, body: '{"a":', code: 'MALFORMED_JSON' },
  {
    name: 'an empty JSON body',
    method: 'POST',
    path: write,
    headers: json,
    body: '',
    code: 'MALFORMED_JSON',
  },
  { name: 'a huge body', method: 'POST', path: write, headers: json, body: huge, code: 'BODY_TOO_LARGE' },
  {
    name: 'prototype poisoning',
    method: 'POST',
    path: write,
    headers: json,
    body: '{"__proto__":{"admin":true}}',
    code: 'MALFORMED_JSON',
  },
];

/** Fires every case and asserts the body is `{ code, message }` with the expected documented code. */
async function fire(
  t: { diagnostic(message: string): void },
  base: string,
  cases: readonly Case[],
  docs: Map<string, number>,
  o: { headers?: Record<string, string>; ca?: string } = {},
) {
  for (const c of cases) {
    const answer = await send(base, c.method, c.path, {
      headers: { ...(o.headers ?? {}), ...(c.headers ?? {}) },
      ...(c.body !== undefined ? { body: c.body } : {}),
      ...(o.ca ? { ca: o.ca } : {}),
    });
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(answer.body);
    } catch {
      assert.fail(`${c.name}: the body is not JSON: ${answer.body.slice(0, 200)}`);
    }
    const keys = Object.keys(body).filter((k) => k !== 'details');
    assert.deepEqual(keys.sort(), ['code', 'message'], `${c.name}: ${answer.body}`);
    assert.ok(docs.has(body.code as string), `${c.name}: ${body.code} is documented`);
    assert.equal(answer.status, docs.get(body.code as string), `${c.name}: the documented status`);
    assert.equal(body.code, c.code, `${c.name}: ${answer.body}`);
    t.diagnostic(`${c.name}: ${answer.status} ${body.code}`);
  }
}

test('malformed requests at the node and at the gateway get documented codes only', async (t) => {
  const { url: nodeUrl, key } = await startTestNode(t, { blockIntervalMs: 60_000 });

  await t.test('the node API', async (t) => {
    const cases: Case[] = [
      ...malformed('/v1/transactions', (v) => `/v1/transactions/${v}`),
      ...malformed('/v1/transactions/batch', (v) => `/v1/anchors/${v}`),
      {
        name: 'a transaction of the wrong shape',
        method: 'POST',
        path: '/v1/transactions',
        headers: json,
        body: '{}',
        code: 'TX_MALFORMED',
      },
      { name: 'a height that is not a number', method: 'GET', path: '/v1/blocks/abc', code: 'BAD_REQUEST' },
      { name: 'a bad hash', method: 'GET', path: '/v1/transactions/xyz', code: 'BAD_REQUEST' },
    ];
    await fire(t, nodeUrl, cases, NODE_DOCS);
    await fireUnparsable(nodeUrl, NODE_DOCS);
  });

  const g = await startGatewayFixture<'esdh'>(t, {
    municipalities: [{ cvr: MUNICIPALITY, nodes: [nodeUrl], authority: key }],
    systems: { esdh: { cvr: MUNICIPALITY, privileges: [privilege('caseworker')] } },
  });
  const ca = g.ca.certPem;
  const hash = 'ab'.repeat(32);

  await t.test('the gateway, before authentication', async (t) => {
    // Authentication comes before the body is read: a routed request with a body is AUTH_REQUIRED.
    const cases = malformed('/v1/contracts', (v) => `/v1/contracts/${v}`)
      .filter((c) => c.body !== huge)
      .map((c) => (c.body !== undefined && c.code !== 'NOT_FOUND' ? { ...c, code: 'AUTH_REQUIRED' } : c));
    await fireUnparsable(g.url, GATEWAY_DOCS, ca);
    const audited = g.audit.entries.length;
    await fire(t, g.url, cases, GATEWAY_DOCS, { ca });
    // Every refusal is audited, those the framework answers before routing (bad URLs) included.
    const entries = await waitFor(async () => {
      const added = g.audit.entries.slice(audited);
      return added.length >= cases.length ? added : undefined;
    }, 5000);
    assert.deepEqual(entries.map((e) => e.code).sort(), cases.map((c) => c.code).sort());
  });

  await t.test('the gateway, authenticated', async (t) => {
    const token = await g.token(g.systems.esdh);
    const headers = { authorization: `Bearer ${token}` };
    const cases: Case[] = [
      ...malformed('/v1/contracts', (v) => `/v1/contracts/${v}`),
      ...malformed(`/v1/contracts/${hash}/motions`, (v) => `/v1/transactions/${v}`),
      ...malformed('/v1/webhooks', (v) => `/v1/documents/${v}`),
      {
        name: 'a body of the wrong shape',
        method: 'POST',
        path: '/v1/contracts',
        headers: json,
        body: '{}',
        code: 'BAD_REQUEST',
      },
      {
        name: 'a malformed x-tillid-user',
        method: 'POST',
        path: `/v1/contracts/${hash}/motions`,
        headers: { ...json, 'x-tillid-user': 'a b' },
        body: '{"action":"activate"}',
        code: 'BAD_REQUEST',
      },
      {
        name: 'a malformed x-TransaktionsId',
        method: 'GET',
        path: '/v1/contracts',
        headers: { 'x-transaktionsid': 'nope' },
        code: 'TRANSACTION_ID_INVALID',
      },
      {
        name: 'a bad Last-Event-ID',
        method: 'GET',
        path: '/v1/events/stream',
        headers: { 'last-event-id': 'x' },
        code: 'BAD_REQUEST',
      },
      {
        name: 'a document of no type',
        method: 'POST',
        path: '/v1/documents',
        headers: { 'content-type': 'application/pdf' },
        body: 'x',
        code: 'BAD_REQUEST',
      },
      { name: 'a bad document id escape', method: 'GET', path: '/v1/documents/%zz', code: 'BAD_REQUEST' },
    ];
    await fire(t, g.url, cases, GATEWAY_DOCS, { headers, ca });
    // Refusals are audited with their documented code.
    const codes = new Set(g.audit.entries.map((e) => e.code));
    for (const code of ['UNSUPPORTED_MEDIA_TYPE', 'MALFORMED_JSON', 'BODY_TOO_LARGE', 'NOT_FOUND'])
      assert.ok(codes.has(code), `an audit entry names ${code}`);
  });
});
