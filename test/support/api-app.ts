import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { recordLineFailure } from '../../src/db/repositories/failures.js';
import { persistFinalAsset } from '../../src/db/repositories/final-assets.js';
import { registerOrderLines, type OrderLineIdentity } from '../../src/db/repositories/order-lines.js';
import { deadlineAwareRetryInterceptor } from '../../src/intake/temporal-deadline.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { NoopTelemetry } from '../../src/telemetry/telemetry.js';
import { LogCapture, testConfig, testCredentials } from './api.js';
import { buildTestApp, type TestAppDeps } from './capture-app.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { Teardown } from './teardown.js';
import { bigId, hmac, makePng } from './fixtures.js';
import { freePort } from './ports.js';

export const PUBLIC_BASE = 'http://files.printready.test';

/** Generous enough that no test's refused tokens add up to a 429; the rate limit's own test sets a small one. */
export const TEST_FAILED_AUTH_LIMIT = { max: 100_000, windowMs: 60_000 };

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export const linePath = (line: { shop_id: string; order_line_id: string }, suffix = '') =>
  `/v1/shops/${line.shop_id}/order-lines/${line.order_line_id}${suffix}`;

/** A webhook delivery's answer, as far as the tests read it. */
export interface WebhookAnswer {
  accepted: { order_line_id: string; workflow_id: string; status: string }[];
  ignored: { order_line_id: string; reason: string }[];
}

/** The error envelope, exactly: status, JSON, `{ error: { code, message, details } }`, no stack. */
export function expectError(response: LightMyRequestResponse, status: number, code: string) {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  const body = response.json<{ error: { code: string; message: string; details?: unknown } }>();
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'details', 'message']);
  expect(response.body).not.toMatch(/\bat .+\.(ts|js):\d+/);
  return body.error;
}

/**
 * One test file's API: a real database schema, local storage in a temporary folder, the run's
 * Temporal dev server on a queue no worker polls (started workflows stay pending), the app,
 * and `deadApp` on the same database and storage but a Temporal address where nothing
 * listens. Fields are set in `beforeAll`; helpers read them when called.
 */
/** No token or secret of `creds` in `logs`, and no signature there unredacted. */
export function expectNoSecretsIn(logs: LogCapture, creds: ReturnType<typeof testCredentials>) {
  for (const secret of [
    creds.operatorToken,
    creds.merchantToken,
    creds.otherMerchantToken,
    creds.webhookSecret,
    creds.oldWebhookSecret,
    creds.signingSecret,
  ]) {
    expect(logs.text).not.toContain(secret);
  }
  expect(logs.lines.find((line) => /signature=(?!\[redacted\])/.test(line))).toBeUndefined();
}

/** `overrides`: more configuration, which may name the file's credentials (e.g. its shop). */
/**
 * The app of `deps` with Temporal unreachable (a lazy connection to a closed port, connecting as
 * main.ts does: no retry outlives its call's deadline) and a 1 s Temporal budget; closed by `teardown`.
 */
export async function buildDeadTemporalApp(
  deps: TestAppDeps,
  teardown: Teardown,
  overrides: Partial<TestAppDeps> = {},
): Promise<{ app: FastifyInstance; client: Client }> {
  const client = new Client({
    connection: Connection.lazy({
      address: `127.0.0.1:${await freePort()}`,
      connectTimeout: '1s',
      interceptors: [deadlineAwareRetryInterceptor()],
    }),
  });
  teardown.defer(() => client.connection.close());
  const app = await buildTestApp({
    ...deps,
    temporal: { client, taskQueue: deps.temporal.taskQueue },
    temporalTimeoutMs: 1_000,
    ...overrides,
  });
  teardown.defer(() => app.close());
  return { app, client };
}

export function useApiApp(overrides: (creds: ReturnType<typeof testCredentials>) => Record<string, string> = () => ({})) {
  const creds = testCredentials();
  const config = testConfig(creds, overrides(creds));
  const logs = new LogCapture();
  const api = {
    creds,
    config,
    logs,
    /** The clock signed file URLs are checked against; tests move it. */
    clock: Date.now(),
    database: undefined as unknown as TestDatabase,
    storageRoot: '',
    storage: undefined as unknown as LocalStorage,
    client: undefined as unknown as Client,
    deadClient: undefined as unknown as Client,
    taskQueue: '',
    base: undefined as unknown as TestAppDeps,
    app: undefined as unknown as FastifyInstance,
    deadApp: undefined as unknown as FastifyInstance,

    webhook: (
      target: FastifyInstance,
      body: string | Buffer,
      options: {
        topic?: string;
        shop?: string;
        secret?: string | null;
        hmacHeader?: string;
        contentType?: string;
        webhookId?: string;
      } = {},
    ) => {
      const headers: Record<string, string> = {
        'content-type': options.contentType ?? 'application/json',
        'x-shopify-topic': options.topic ?? 'orders/create',
        'x-shopify-shop-domain': options.shop ?? creds.shop,
        'x-shopify-webhook-id': options.webhookId ?? `wh-${randomBytes(4).toString('hex')}`,
        'x-shopify-api-version': '2025-07',
      };
      const secret = options.secret === undefined ? creds.webhookSecret : options.secret;
      if (options.hmacHeader !== undefined) headers['x-shopify-hmac-sha256'] = options.hmacHeader;
      else if (secret !== null) headers['x-shopify-hmac-sha256'] = hmac(body, secret);
      return target.inject({ method: 'POST', url: '/webhooks/shopify', headers, payload: body });
    },

    newLine: (overrides: Partial<OrderLineIdentity> = {}): OrderLineIdentity => {
      return {
        shop_id: creds.shop,
        order_id: bigId(),
        order_line_id: bigId(),
        personalization_id: `pers-${randomBytes(4).toString('hex')}`,
        ...overrides,
      };
    },

    workflowExists: async (workflowId: string): Promise<boolean> => {
      try {
        await api.client.workflow.getHandle(workflowId).describe();
        return true;
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return false;
        throw error;
      }
    },

    signalNames: async (workflowId: string): Promise<string[]> => {
      const history = await api.client.workflow.getHandle(workflowId).fetchHistory();
      return (history.events ?? []).flatMap((event) =>
        event.workflowExecutionSignaledEventAttributes?.signalName ? [event.workflowExecutionSignaledEventAttributes.signalName] : [],
      );
    },

    /** A persisted line with its asset really in the print bucket. */
    persistedLine: async (bytes = makePng(32, 16), line?: OrderLineIdentity) => {
      line ??= api.newLine();
      const digest = sha256(bytes);
      const assetPath = `${line.shop_id}/${line.order_line_id}/${digest}.png`;
      const file = path.join(api.storageRoot, config.PRINT_BUCKET, assetPath);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, bytes);
      await registerOrderLines(api.database.db, [line]);
      await persistFinalAsset(api.database.db, line, {
        bucket: config.PRINT_BUCKET,
        path: assetPath,
        sha256: digest,
        size_bytes: bytes.length,
        content_type: 'image/png',
        width: 32,
        height: 16,
        source_bucket: config.PREVIEW_BUCKET,
        source_path: `${line.shop_id}/x.png`,
        job_id: 'job-1',
      });
      return { line, bytes, assetPath, digest };
    },

    failedLine: async () => {
      const line = api.newLine();
      await registerOrderLines(api.database.db, [line]);
      await recordLineFailure(api.database.db, line, {
        failure_key: `test:${randomBytes(4).toString('hex')}`,
        attempt: 1,
        reason_code: 'preview_not_found',
        message: `no preview job for ${line.personalization_id}`,
        details: {},
      });
      return line;
    },

    /** No token, secret or unredacted signature in anything the file's apps logged. */
    expectNoSecretsLogged: () => {
      expectNoSecretsIn(logs, creds);
      expect(logs.lines.find((line) => /Bearer [A-Za-z0-9_]{10,}/.test(line))).toBeUndefined();
    },
  };

  const teardown = new Teardown();
  beforeAll(async () => {
    api.database = await createTestDatabase();
    teardown.defer(() => api.database.close());
    api.storageRoot = await mkdtemp(path.join(os.tmpdir(), 'printready-api-'));
    teardown.defer(() => rm(api.storageRoot, { recursive: true, force: true }));
    api.storage = new LocalStorage({ root: api.storageRoot, publicBaseUrl: PUBLIC_BASE, signingSecret: creds.signingSecret });
    await api.storage.ensureBucket(config.PREVIEW_BUCKET);
    await api.storage.ensureBucket(config.PRINT_BUCKET);
    api.client = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) });
    teardown.defer(() => api.client.connection.close());
    api.taskQueue = `api-${randomBytes(6).toString('hex')}`;
    api.base = {
      config,
      db: api.database.db,
      storage: api.storage,
      temporal: { client: api.client, taskQueue: api.taskQueue },
      telemetry: new NoopTelemetry(),
      logs,
      localSigningSecret: creds.signingSecret,
      now: () => api.clock,
      failedAuthLimit: TEST_FAILED_AUTH_LIMIT,
    };
    api.app = await buildTestApp(api.base);
    teardown.defer(() => api.app.close());
    ({ app: api.deadApp, client: api.deadClient } = await buildDeadTemporalApp(api.base, teardown, { readinessTimeoutMs: 1_000 }));
  });

  afterAll(() => teardown.run());

  return api;
}
