# The Tillid node image, air-gapped: no registry, no shell, no package manager in the build.
# RUNTIME_IMAGE is the base made by `npm run images` from this host's Node 24 binary and the shared
# libraries it links (docker import); the context is a directory staged by docker/build-images.ts
# holding package.json, node/, client/, deploy/init.ts and the production node_modules copied from this
# checkout. Same layout, user, ports, health check and entry point as node.Dockerfile.
ARG RUNTIME_IMAGE=tillid/node-runtime:24
FROM ${RUNTIME_IMAGE}
ENV NODE_ENV=production \
    TILLID_API_HOST=0.0.0.0 \
    TILLID_API_PORT=7101
COPY app /app
USER 1000:1000
WORKDIR /var/lib/tillid
EXPOSE 7101 7201
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.TILLID_API_PORT||7101)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The launch settings of node/cli/node-flags.ts: a smaller young generation, two malloc arenas and
# the compile cache, here in the node's own volume (an idle node keeps about 70 MB less resident,
# and from its second start on about 17 MB less again).
ENV MALLOC_ARENA_MAX=2
ENV NODE_COMPILE_CACHE=/var/lib/tillid/.compile-cache
ENTRYPOINT ["node", "--max-semi-space-size=8", "/app/node/cli/tillid.ts"]
CMD ["node", "start", "--config", "/var/lib/tillid/config.json"]
