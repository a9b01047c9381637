# kubetrail's container image: the `kubetrail` command (the collector, the API and the web UI) on Node.js
# 20, run as an unprivileged user. Nothing is written outside the data volume (/var/lib/kubetrail), so the
# container runs with a read-only root file system. docs/deploy.md describes how it is run in a cluster;
# src/deploy.test.ts checks this file (stages, user, entry point, the files the runtime needs).
#
#   docker build -t kubetrail .
#   docker run --read-only -v kubetrail-data:/var/lib/kubetrail -p 7480:7480 kubetrail

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: compile the TypeScript and bundle the web UI (dist/)
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts: the `prepare` script would build before the sources are here; the build runs below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json vite.config.ts ./
COPY src ./src
COPY bench ./bench
COPY ui ./ui
RUN npx tsc -p tsconfig.build.json && npx vite build

# --- deps: the production dependencies only (DuckDB's native binding for this platform included)
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- runtime: the package's files (package.json "files": bin, dist, docs, rules) and its dependencies
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
RUN groupadd --system --gid 10001 kubetrail \
  && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
     --shell /usr/sbin/nologin kubetrail \
  && mkdir -p /var/lib/kubetrail \
  && chown 10001:10001 /var/lib/kubetrail \
  && chmod 0700 /var/lib/kubetrail
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY --from=build /src/dist ./dist
COPY docs ./docs
COPY rules ./rules
RUN chmod 0755 /app/bin/kubetrail.js && ln -s /app/bin/kubetrail.js /usr/local/bin/kubetrail
# The data directory: the store, checkpoints, the webhook's segment log, tokens, quarantine.
VOLUME ["/var/lib/kubetrail"]
WORKDIR /var/lib/kubetrail
USER 10001:10001
EXPOSE 7480
# A young generation of up to 64 MB per semi-space: under webhook load the server allocates fast, and
# the default (16 MB) spends a quarter of its time collecting (docs/benchmarks.md).
ENTRYPOINT ["node", "--max-semi-space-size=64", "/app/bin/kubetrail.js"]
CMD ["serve", "--data-dir", "/var/lib/kubetrail", "--listen", "0.0.0.0:7480"]
