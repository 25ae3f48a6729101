# syntax=docker/dockerfile:1
# One image for every process of a scaled install: the API (default command), `node dist/worker.js`
# and `node dist/migrate.js` (see docker-compose.yml and README "Deployment").
ARG NODE_IMAGE=node:24-bookworm-slim

# better-sqlite3 compiles from source when no prebuilt binary can be downloaded: give both
# install stages its tools (the runtime image gets only the built node_modules).
FROM ${NODE_IMAGE} AS toolchain
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./

# Every dependency, then `npm run build` — the build `npm start` and CI run: tsc into dist/,
# Vite into web/dist/ (the web UI, served by the API).
FROM toolchain AS build
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY web ./web
RUN npm run build

# Production dependencies only.
FROM toolchain AS deps
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=8000 \
    WORKER_HTTP_PORT=8001 \
    DATA_DIR=/data \
    UPLOAD_DIR=/data/uploads
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist
COPY package.json ./
# A named volume mounted on /data/uploads starts with this owner, so the non-root user can write it.
RUN mkdir -p /data/uploads && chown -R node:node /data
USER node
EXPOSE 8000 8001
# No curl in the image: Node's fetch asks /healthz (the worker's own port: see docker-compose.yml).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# As `npm start` runs it, without the build (done above) and without npm in the signal path:
# SIGTERM reaches Node, which finishes in-flight requests and exits.
CMD ["node", "--max-semi-space-size=2", "dist/server.js"]
