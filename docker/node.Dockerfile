# The Tillid node image for build hosts that reach a registry (multi-stage, official Node base).
# Air-gapped hosts (and this project's CI) use node.offline.Dockerfile via `npm run images`, which
# produces an equivalent image without pulling anything.
#
#   npm run images -- --online                       # stages a small context and builds this file
#   docker build -f docker/node.Dockerfile -t tillid/node:dev .   # by hand (BuildKit honours
#                                                    # node.Dockerfile.dockerignore next to this file)
ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only. classic-level ships prebuilt binaries, so no install scripts are
# needed; the other platforms' prebuilds are dropped.
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund \
 && find node_modules/classic-level/prebuilds -mindepth 1 -maxdepth 1 ! -name linux-x64 -exec rm -rf {} + \
 && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    TILLID_API_HOST=0.0.0.0 \
    TILLID_API_PORT=7101
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY node ./node
COPY client ./client
COPY deploy/init.ts ./deploy/init.ts
# The node's state (config, key, genesis, LevelDB store) lives in one volume owned by uid 1000.
RUN mkdir -p /var/lib/tillid && chown 1000:1000 /var/lib/tillid && chmod 700 /var/lib/tillid
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
