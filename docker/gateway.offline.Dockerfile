# The Tillid gateway image, air-gapped: no registry, no shell, no package manager in the build.
# RUNTIME_IMAGE is the base made by `npm run images` from this host's Node 24 binary and the shared
# libraries it links (docker import); the context is a directory staged by docker/build-images.ts
# holding package.json, node/, gateway/, deploy/gateway-init.ts, deploy/token-service.ts and the
# production node_modules copied from this checkout. Same layout, user, ports, health check and entry point as gateway.Dockerfile.
ARG RUNTIME_IMAGE=tillid/node-runtime:24
FROM ${RUNTIME_IMAGE}
ENV NODE_ENV=production \
    TILLID_GATEWAY_HOST=0.0.0.0 \
    TILLID_GATEWAY_PORT=8080
COPY app /app
USER 1000:1000
WORKDIR /var/lib/tillid
EXPOSE 8080
# /healthz over HTTPS when the config has tls (own test CA: not verified here), else HTTP.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const p=process.env.TILLID_GATEWAY_PORT||8080;require('https').get({host:'127.0.0.1',port:p,path:'/healthz',rejectUnauthorized:false},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>fetch('http://127.0.0.1:'+p+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1)))"]
ENTRYPOINT ["node", "/app/gateway/main.ts"]
CMD ["--config", "/var/lib/tillid/gateway.json"]
