/**
 * /docs is built on its first request (node/api/docs.ts): what a reader of the documentation
 * sees must be what the generator registered up front served — the document of every route, its
 * YAML, the UI — and a path the documentation does not have is the API's own 404.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { buildApi, type NodeApi } from '../../../node/api/server.ts';
import type { Logger } from '../../../node/log.ts';

test('/docs serves the OpenAPI document of every route, its YAML and the UI, on first request', async (t) => {
  // The routes are only registered, never called: the document is made of their schemas.
  const app = buildApi({} as NodeApi, pino({ level: 'silent' }) as unknown as Logger);
  t.after(() => app.close());
  const json = await app.inject({ method: 'GET', url: '/docs/json' });
  assert.equal(json.statusCode, 200);
  const document = json.json() as { info: { title: string }; paths: Record<string, Record<string, unknown>> };
  assert.equal(document.info.title, 'Tillid node API');
  assert.ok(document.paths['/v1/transactions']?.post);
  assert.ok(document.paths['/v1/transactions/batch']?.post);
  assert.ok(document.paths['/v1/blocks/{height}']?.get);
  assert.equal(document.paths['/docs'], undefined, 'the documentation does not document itself');
  const yaml = await app.inject({ method: 'GET', url: '/docs/yaml' });
  assert.equal(yaml.statusCode, 200);
  assert.match(yaml.body, /^openapi: /m);
  const ui = await app.inject({ method: 'GET', url: '/docs' });
  assert.equal(ui.statusCode, 200);
  assert.match(String(ui.headers['content-type']), /^text\/html/);
  assert.match(ui.body, /Swagger UI/);
  const css = await app.inject({ method: 'GET', url: '/docs/static/swagger-ui.css' });
  assert.equal(css.statusCode, 200);
  assert.match(String(css.headers['content-type']), /^text\/css/);
  const missing = await app.inject({ method: 'GET', url: '/docs/static/nope.js' });
  assert.equal(missing.statusCode, 404);
  assert.equal((missing.json() as { code: string }).code, 'NOT_FOUND');
});
