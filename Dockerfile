# syntax=docker/dockerfile:1
# The production image: compiled JavaScript and the prebuilt workflow bundle. One image runs
# either process: `node dist/api/main.js` (default) or `node dist/worker/main.js`.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The image keeps only production dependencies: the entry points load no dev dependency (tsx,
# @temporalio/testing, ...) and nothing of src/dev, which test/deploy/production-imports.test.ts checks.
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The data folder (DATA_DIR in docker-compose.yml) belongs to the user the service runs as: a
# named volume mounted there starts out with this folder's owner.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/api/main.js"]
