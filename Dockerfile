# syntax=docker/dockerfile:1

# Node 24, the major the project pins (devDependency node@24) and runs its TypeScript on.
ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS base
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

# Production dependencies only. Install scripts are skipped: sharp and dd-trace ship prebuilt
# binaries as packages, and the only package that would compile (unix-dgram, optional) is unused.
FROM base AS deps
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts

# `docker build --target test .`: the README's `npm ci && npm test` in a clean Linux tree
# (_script/tests-docker). Not part of the runtime image.
FROM base AS test
# npm test puts a real Varnish in front of the service (test/cdn).
RUN apt-get update && apt-get install -y --no-install-recommends varnish && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci
COPY . .
RUN npm test

FROM ${NODE_IMAGE} AS runtime
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="delivery-images" \
      org.opencontainers.image.description="Image delivery HTTP service (Fastify + sharp)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

# Nothing installs or builds at run time: drop npm, npx, corepack and yarn from the image.
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx \
      /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*

WORKDIR /app
# DD_VERSION: the unified service tag `version` on metrics, traces and logs (the image tag,
# <package version>-<build>.git<commit>, from _script/compile-docker).
ENV NODE_ENV=production \
    DD_VERSION=${VERSION} \
    TMPDIR=/tmp \
    HOST=0.0.0.0 \
    PORT=8080

# Owned by root and read-only for the service user: the process cannot change its own code.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
COPY config ./config
COPY schemas ./schemas
# The sample originals, so `docker run` without configuration serves the README's examples.
COPY data ./data

# The base image's unprivileged `node` user, numeric so runAsNonRoot checks can verify it.
USER 1000:1000
EXPOSE 8080

# slim has no curl: Node's own fetch, with a timeout below the check's.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthcheck', { signal: AbortSignal.timeout(2500) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Node is PID 1 and the service installs its own SIGTERM/SIGINT handlers (drain, close, exit 0),
# so the signal is not lost as it would be for a PID 1 without handlers; the service spawns no
# children, so there are no zombies to reap. `node` directly, not `npm start`: npm would sit in
# between, swallow the signal and write logs under $HOME.
STOPSIGNAL SIGTERM
CMD ["node", "--import", "./src/observability/tracer.ts", "src/main.ts"]
