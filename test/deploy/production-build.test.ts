import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { parse } from 'yaml';
import { configSchema } from '../../src/config/config.js';
import { Spawned } from '../support/child-processes.js';
import { eventually } from '../support/eventually.js';
import { bigId, deliveryHeaders, orderPayload, personalized } from '../support/fixtures.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { must } from '../support/must.js';
import { freePort } from '../support/ports.js';
import { Teardown } from '../support/teardown.js';
import { preloadedModules } from '../support/workflow-bundle.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');

/**
 * What the Dockerfile and docker-compose.yml rely on, checked without a Docker engine: the
 * production build compiles and bundles, its entry points load as plain Node ESM (no tsx to
 * paper over CommonJS interop), and the compose file's commands and variables match the code.
 */
describe('production build', () => {
  let outDir: string;
  let database: TestDatabase;
  let databaseUrl: string;
  const teardown = new Teardown();
  beforeAll(async () => {
    // Inside the repository, so the compiled files resolve node_modules as dist/ does.
    outDir = await mkdtemp(path.join(root, '.build-test-'));
    teardown.defer(() => rm(outDir, { recursive: true, force: true }));
    await run('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: root });
    await run(process.execPath, [path.join(outDir, 'worker/build-bundle.js')], { cwd: root });
    database = await createTestDatabase();
    teardown.defer(() => database.close());
    databaseUrl = must(database.url, 'a Postgres database (DATABASE_URL)');
  }, 180_000);
  afterAll(() => teardown.run());

  const entry = (file: string, env: Record<string, string>) =>
    run(process.execPath, [path.join(outDir, file)], { cwd: root, env: { PATH: process.env.PATH, ...env } }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: unknown) => error as { code: number; stdout: string; stderr: string },
    );

  it('prebuilds the workflow bundle next to the worker, preloading the compiled shared modules', async () => {
    const bundle = path.join(outDir, 'workflow-bundle.js');
    expect(existsSync(bundle)).toBe(true);
    const sharedModules = `./${path.relative(root, path.join(outDir, 'workflows/shared-modules.js'))}`;
    expect(preloadedModules(await readFile(bundle, 'utf8'))).toEqual([sharedModules]);
  });

  it.each(['api/main.js', 'worker/main.js'])('%s starts far enough to explain what it lacks', async (file) => {
    const { code, stderr } = await entry(file, {});
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/needs .*(DATABASE_URL|TEMPORAL_ADDRESS)/);
  });

  it('names a bad variable in one line', async () => {
    const { code, stderr } = await entry('api/main.js', { PORT: 'eighty' });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^printready api: Invalid configuration: PORT: /);
  });

  it('migrates a database with the compiled migrations, by `npm run migrate` where only dist/ is, as in the image', async () => {
    await database.db.schema.dropTable('data_requests').execute();
    await database.db.schema.dropTable('redactions').execute();
    await database.db.schema.dropTable('order_refunds').execute();
    await database.db.schema.dropTable('orders').execute();
    await database.db.schema.dropTable('fulfillment_failures').execute();
    await database.db.schema.dropTable('final_assets').execute();
    await database.db.schema.dropTable('order_lines').execute();
    await database.db.schema.dropTable('preview_jobs').execute();
    await database.db.schema.dropTable('reconcile_watermarks').execute();
    await database.db.schema.dropTable('order_events').execute();
    await database.db.schema.dropTable('kysely_migration').execute();
    const image = await mkdtemp(path.join(root, '.image-test-'));
    try {
      await copyFile(path.join(root, 'package.json'), path.join(image, 'package.json'));
      await symlink(outDir, path.join(image, 'dist'));
      await symlink(path.join(root, 'node_modules'), path.join(image, 'node_modules'));
      const { stdout } = await run('npm', ['run', '--silent', 'migrate'], {
        cwd: image,
        env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl },
      });
      expect(stdout).toContain('applied: 0001_initial');
      expect(stdout).toContain('0002_order_lifecycle');
      expect(stdout).toContain('0003_privacy');
    } finally {
      await rm(image, { recursive: true, force: true });
    }
  });

  /** A compiled entry point, as the image runs it, against the tests' Postgres and Temporal, once it says `ready`. */
  async function startEntry(file: string, ready: RegExp, env: Record<string, string> = {}): Promise<Spawned> {
    const entryProcess = new Spawned({
      name: `production-${path.basename(path.dirname(file))}`,
      command: process.execPath,
      args: [path.join(outDir, file)],
      cwd: root,
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: databaseUrl,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TEMPORAL_TASK_QUEUE: `sigterm-${randomBytes(4).toString('hex')}`,
        DATA_DIR: outDir,
        // Off: the suite's other workers would contend for the default metrics ports.
        WORKER_METRICS_ADDRESS: '',
        WORKER_APP_METRICS_ADDRESS: '',
        ...env,
      },
    });
    await entryProcess.waitForOutput(ready, 30_000);
    return entryProcess;
  }

  it('worker/main.js warns of a guessable ORDER_EVENTS_SECRET, never printing it, and stops cleanly on SIGTERM', async () => {
    const secret = 'short-events-key';
    const worker = await startEntry('worker/main.js', /worker polling/, {
      ORDER_EVENTS_URL: 'http://127.0.0.1:9/print-events',
      ORDER_EVENTS_SECRET: secret,
    });
    await worker.stop();
    expect((await worker.exited).code).toBe(0);
    expect(worker.output).toContain('worker stopped');
    expect(worker.output).toContain('ORDER_EVENTS_SECRET is shorter than 32 characters');
    expect(worker.output).not.toContain(secret);
  });

  it('api/main.js finishes a request in flight on SIGTERM, then exits 0', async () => {
    const port = await freePort();
    const token = 'ops-token-1-0123456789abcdefghijklmn';
    const api = await startEntry('api/main.js', /Server listening/, { PORT: String(port), API_TOKENS: `${token}=*`, LOG_LEVEL: 'info' });
    const body = JSON.stringify({
      shop_id: 'sigterm.myshopify.com',
      personalization_id: 'pers-sigterm',
      job_id: 'job-sigterm',
      status: 'rendering',
    });
    const request = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/v1/previews',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    const response = once(request, 'response') as Promise<[IncomingMessage]>;
    // Half the body, then the signal, then the rest: the request is in flight when the API is told to stop.
    request.write(body.slice(0, 20));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stopping = api.stop();
    await new Promise((resolve) => setTimeout(resolve, 300));
    request.end(body.slice(20));
    const [answer] = await response;
    expect(answer.statusCode).toBe(201);
    // Its connection is closed after it, so an idle keep-alive client does not hold the stop.
    expect(answer.headers.connection).toBe('close');
    answer.resume();
    await stopping;
    expect((await api.exited).code).toBe(0);
  });

  it('api/main.js adds the search attributes a namespace lacks: a webhook starts its line before any worker has run', async () => {
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    const namespace = `api-sa-${randomBytes(4).toString('hex')}`;
    try {
      await connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: proto.google.protobuf.Duration.fromObject({ seconds: 86_400 }),
      });
    } finally {
      await connection.close();
    }
    const port = await freePort();
    const secret = 'build-test-webhook-secret';
    const api = await startEntry('api/main.js', /Server listening/, {
      PORT: String(port),
      TEMPORAL_NAMESPACE: namespace,
      SHOPIFY_WEBHOOK_SECRETS: secret,
    });
    try {
      const shop = 'search-attributes.myshopify.com';
      const body = orderPayload(bigId(), [{ id: bigId(), properties: personalized('pers-sa') }], shop);
      // A namespace just registered may take the server a few seconds to serve; a start that
      // lacks an attribute would fail every time.
      const answer = await eventually(
        async () => {
          const response = await fetch(`http://127.0.0.1:${port}/webhooks/shopify`, {
            method: 'POST',
            headers: deliveryHeaders(shop, body, secret),
            body,
          });
          return response.status === 200 ? ((await response.json()) as { accepted: { status: string }[] }) : undefined;
        },
        'a webhook answered 200',
        30_000,
        500,
      );
      expect(answer.accepted).toMatchObject([{ status: 'started' }]);
    } finally {
      await api.stop();
    }
  });
});

it.each(['start:api', 'start:worker'])('%s without dist/ or the dev dependencies says how to build', async (script) => {
  const checkout = await mkdtemp(path.join(root, '.prod-deps-test-'));
  try {
    await copyFile(path.join(root, 'package.json'), path.join(checkout, 'package.json'));
    await cp(path.join(root, 'scripts'), path.join(checkout, 'scripts'), { recursive: true });
    await mkdir(path.join(checkout, 'node_modules'));
    const failed = await run('npm', ['run', '--silent', script], { cwd: checkout, env: { PATH: process.env.PATH } }).then(
      () => ({ stderr: 'it started' }),
      (error: unknown) => error as { stderr: string },
    );
    expect(failed.stderr).toContain(
      'printready: dist/ is not built, and building it needs the dev dependencies: run npm ci, then npm run build.',
    );
  } finally {
    await rm(checkout, { recursive: true, force: true });
  }
});

describe('docker-compose.yml and Dockerfile', () => {
  interface Service {
    command?: string[];
    environment?: Record<string, string>;
  }

  it('runs the compiled entry points the build produces', async () => {
    const compose = parse(await readFile(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, Service>;
    };
    const commands = ['api', 'worker', 'migrate'].map((name) => must(compose.services[name], `service ${name}`).command);
    expect(commands).toEqual([
      ['node', 'dist/api/main.js'],
      ['node', 'dist/worker/main.js'],
      ['node', 'dist/db/migrate-main.js'],
    ]);
    for (const command of commands) {
      const source = must(command?.[1], 'the file a command runs')
        .replace(/^dist\//, 'src/')
        .replace(/\.js$/, '.ts');
      expect(existsSync(path.join(root, source)), source).toBe(true);
    }
    const dockerfile = await readFile(path.join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain('CMD ["node", "dist/api/main.js"]');
    expect(dockerfile).toContain('RUN npm run build');
    // The volume at DATA_DIR is writable by the user the service runs as.
    const dataDir = must(compose.services.worker, 'service worker').environment?.DATA_DIR;
    expect(dataDir).toBeDefined();
    expect(dockerfile).toContain(`RUN mkdir -p ${dataDir} && chown node:node ${dataDir}\nUSER node`);
  });

  it('sets only variables the config schema knows', async () => {
    const compose = parse(await readFile(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, Service>;
    };
    const known = new Set(Object.keys(configSchema.shape));
    for (const name of ['api', 'worker', 'migrate']) {
      const variables = Object.keys(must(compose.services[name], `service ${name}`).environment ?? {});
      expect(variables.length, name).toBeGreaterThan(0);
      expect(
        variables.filter((variable) => !known.has(variable)),
        name,
      ).toEqual([]);
    }
  });
});
