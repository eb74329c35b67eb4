/**
 * /docs: the OpenAPI document generated from the routes' schemas, and its UI. The generator
 * (@fastify/swagger, with yaml and a JSON-schema resolver) and the UI plugin, registered on a
 * fastify app with 60 routes, kept 7–8 MB more resident (measured alone), and a node is asked
 * for its documentation rarely if ever; so they are loaded on the first request to /docs. Until then the node only records each route
 * as it is added (method, URL and schema: what the document is made of). The first request builds
 * a private fastify instance holding the same routes with no-op handlers, the generator and the
 * UI under the same prefix, exactly as they were registered on the node's API before; every /docs
 * request is answered by it through `inject` (no socket), so the document, its YAML, the UI's
 * files and redirects are theirs, byte for byte. What it does not know is a 404 of the node's API.
 */
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type RouteOptions,
} from 'fastify';

export const DOCS_PREFIX = '/docs';

/** The document's header. */
const openapi = {
  info: { title: 'Tillid node API', version: '1', description: 'A Tillid consortium ledger node.' },
};

/** Headers that describe the private instance's connection, not the answer. */
const HOP_BY_HOP = new Set(['connection', 'content-length', 'transfer-encoding', 'date', 'keep-alive']);

type Recorded = Pick<RouteOptions, 'method' | 'url' | 'schema'>;

/** Registers /docs on `app`; call before any route the document should show is added. */
export function lazyDocs(app: FastifyInstance): void {
  const routes: Recorded[] = [];
  app.addHook('onRoute', (route) => {
    if (route.url === undefined || route.url.startsWith(DOCS_PREFIX)) return;
    routes.push({ method: route.method, url: route.url, schema: route.schema });
  });
  let docs: Promise<FastifyInstance> | undefined;
  const serve = async (request: FastifyRequest, reply: FastifyReply) => {
    docs ??= build(app, routes);
    const answer = await (await docs).inject({ method: 'GET', url: request.url });
    if (answer.statusCode === 404) return reply.callNotFound();
    for (const [name, value] of Object.entries(answer.headers))
      if (value !== undefined && !HOP_BY_HOP.has(name)) reply.header(name, value);
    reply.code(answer.statusCode);
    // A redirect has no body, and no content type to invent for one.
    return answer.rawPayload.length > 0 ? reply.send(answer.rawPayload) : reply.send();
  };
  app.get(DOCS_PREFIX, { schema: { hide: true } }, serve);
  app.get(`${DOCS_PREFIX}/*`, { schema: { hide: true } }, serve);
}

async function build(app: FastifyInstance, routes: readonly Recorded[]): Promise<FastifyInstance> {
  const [{ default: swagger }, { default: swaggerUi }] = await Promise.all([
    import('@fastify/swagger'),
    import('@fastify/swagger-ui'),
  ]);
  const docs = Fastify({ exposeHeadRoutes: false }) as unknown as FastifyInstance;
  // The routes here are never called: nothing to validate or serialize.
  docs.setValidatorCompiler(() => () => true);
  docs.setSerializerCompiler(() => (data) => JSON.stringify(data));
  for (const schema of Object.values(app.getSchemas())) docs.addSchema(schema as { $id: string });
  await docs.register(swagger, { openapi });
  await docs.register(swaggerUi, { routePrefix: DOCS_PREFIX });
  for (const { method, url, schema } of routes)
    docs.route({ method, url: url as string, ...(schema ? { schema } : {}), handler: async () => null });
  await docs.ready();
  return docs;
}
