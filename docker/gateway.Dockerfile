# The Tillid gateway image for build hosts that reach a registry (multi-stage, official Node base).
# Air-gapped hosts (and this project's CI) use gateway.offline.Dockerfile via `npm run images`, which
# produces an equivalent image without pulling anything.
#
#   npm run images -- --online                       # stages a small context and builds this file
#   docker build -f docker/gateway.Dockerfile -t tillid/gateway:dev .   # by hand (BuildKit honours
#                                                    # gateway.Dockerfile.dockerignore next to this file)
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
    TILLID_GATEWAY_HOST=0.0.0.0 \
    TILLID_GATEWAY_PORT=8080
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY node ./node
COPY gateway ./gateway
COPY deploy/gateway-init.ts deploy/token-service.ts ./deploy/
# The gateway's state (config, encrypted key store, audit log) lives in one volume owned by uid 1000.
RUN mkdir -p /var/lib/tillid && chown 1000:1000 /var/lib/tillid && chmod 700 /var/lib/tillid
USER 1000:1000
WORKDIR /var/lib/tillid
EXPOSE 8080
# /healthz over HTTPS when the config has tls (own test CA: not verified here), else HTTP.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const p=process.env.TILLID_GATEWAY_PORT||8080;require('https').get({host:'127.0.0.1',port:p,path:'/healthz',rejectUnauthorized:false},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>fetch('http://127.0.0.1:'+p+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1)))"]
ENTRYPOINT ["node", "/app/gateway/main.ts"]
CMD ["--config", "/var/lib/tillid/gateway.json"]
