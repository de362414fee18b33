import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signShopifyBody } from '../../src/intake/shopify.js';
import { sampleOrderPayload } from '../../src/demo/sample-order.js';
import { makePng } from '../support/fixtures.js';
import { freePort } from '../support/ports.js';
import { must } from '../support/must.js';

const SHOP = 'newcomer.myshopify.com';
const ORDER_ID = '820982911946154508';
const LINE_ID = '866550311766439020';

let dataDir: string;
let env: NodeJS.ProcessEnv;
let apiUrl: string;
let temporalAddress: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'printready-dev-'));
  const [port, temporalPort, uiPort] = [await freePort(), await freePort(), await freePort()];
  apiUrl = `http://127.0.0.1:${port}`;
  temporalAddress = `127.0.0.1:${temporalPort}`;
  // Embedded defaults only: nothing external, whatever the CI shell exports.
  const { DATABASE_URL: _db, TEMPORAL_ADDRESS: _t, SUPABASE_URL: _s, POSTHOG_API_KEY: _p, ...inherited } = process.env;
  env = {
    ...inherited,
    DATA_DIR: dataDir,
    PORT: String(port),
    TEMPORAL_DEV_PORT: String(temporalPort),
    TEMPORAL_UI_PORT: String(uiPort),
    // Off: the suite's other workers would contend for the default metrics ports.
    WORKER_METRICS_ADDRESS: '',
    WORKER_APP_METRICS_ADDRESS: '',
    LOG_LEVEL: 'warn',
  };
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

interface Running {
  child: ChildProcess;
  output: () => string;
}

/** `npm run dev`'s entry point, as a newcomer starts it, until it says it is ready. */
async function startDev(overrides: NodeJS.ProcessEnv = {}): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/dev/main.ts'], {
    env: { ...env, ...overrides },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 90_000;
  while (!output.includes('printready ready')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`dev did not become ready:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { child, output: () => output };
}

/** SIGTERM, then the process and every child it started must be gone within seconds. */
async function stopDev({ child }: Running): Promise<number | null> {
  const children = (await childPids(must(child.pid, 'the dev process id'))).filter((pid) => pid !== child.pid);
  expect(children.length).toBeGreaterThan(0);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const code = await Promise.race([exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 20_000))]);
  expect(code).not.toBe('timeout');
  // Children see their parent go and end within moments (tsx's esbuild service, for one).
  for (let waited = 0; waited < 10_000 && children.some(isAlive); waited += 200) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  expect(children.filter(isAlive).map(describeProcess)).toEqual([]);
  return code === 'timeout' ? null : code;
}

async function childPids(pid: number): Promise<number[]> {
  const ps = spawn('ps', ['-e', '-o', 'pid=,ppid=']);
  let text = '';
  ps.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  await new Promise((resolve) => ps.once('close', resolve));
  const pairs = text
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number]);
  const tree = new Set([pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [child, parent] of pairs) {
      if (tree.has(parent) && !tree.has(child)) {
        tree.add(child);
        grew = true;
      }
    }
  }
  return [...tree];
}

function describeProcess(pid: number): string {
  try {
    return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()}`;
  } catch {
    return String(pid);
  }
}

/** Running, or stopped; a zombie (exited, not yet reaped by anyone) counts as gone. */
function isAlive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  } catch {
    return false;
  }
}

it('runs a line end to end on embedded defaults, stops cleanly and finds its data again', async () => {
  const first = await startDev();
  try {
    expect(first.output()).toContain(`${apiUrl}/docs`);
    expect(first.output()).toMatch(/Temporal UI\s+http:\/\/127\.0\.0\.1:\d+/);
    const credentials = JSON.parse(await readFile(path.join(dataDir, 'dev-credentials.json'), 'utf8')) as {
      api_token: string;
      webhook_secret: string;
    };
    expect(first.output()).toContain(credentials.api_token);
    const authorized = { authorization: `Bearer ${credentials.api_token}`, 'content-type': 'application/json' };

    const png = makePng(300, 200);
    const previewPath = `${SHOP}/mug.png`;
    await mkdir(path.join(dataDir, 'storage', 'previews', SHOP), { recursive: true });
    await writeFile(path.join(dataDir, 'storage', 'previews', previewPath), png);
    const preview = await fetch(`${apiUrl}/v1/previews`, {
      method: 'POST',
      headers: authorized,
      body: JSON.stringify({ shop_id: SHOP, personalization_id: 'p-1', job_id: 'j-1', status: 'ready', path: previewPath }),
    });
    expect(preview.status).toBe(201);

    const body = sampleOrderPayload(ORDER_ID, [{ id: LINE_ID, properties: [{ name: 'personalization_id', value: 'p-1' }] }], SHOP);
    const delivery = await fetch(`${apiUrl}/webhooks/shopify`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-shopify-topic': 'orders/create',
        'x-shopify-shop-domain': SHOP,
        'x-shopify-hmac-sha256': signShopifyBody(body, credentials.webhook_secret),
      },
      body,
    });
    expect(await delivery.json()).toMatchObject({ accepted: [{ order_line_id: LINE_ID, status: 'started' }] });

    const lineUrl = `${apiUrl}/v1/shops/${SHOP}/order-lines/${LINE_ID}`;
    let line: { status: string; final_asset: { sha256: string } | null } = { status: 'processing', final_asset: null };
    for (let tries = 0; tries < 120 && line.status !== 'persisted'; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      line = (await (await fetch(lineUrl, { headers: authorized })).json()) as typeof line;
    }
    expect(line.final_asset?.sha256).toBe(createHash('sha256').update(png).digest('hex'));
    const signed = (await (
      await fetch(`${lineUrl}/final-asset/signed-url`, { method: 'POST', headers: authorized, body: '{}' })
    ).json()) as { url: string };
    expect(Buffer.from(await (await fetch(signed.url)).arrayBuffer()).equals(png)).toBe(true);
  } finally {
    expect(await stopDev(first)).toBe(0);
  }

  const second = await startDev();
  try {
    const credentials = JSON.parse(await readFile(path.join(dataDir, 'dev-credentials.json'), 'utf8')) as { api_token: string };
    const line = (await (
      await fetch(`${apiUrl}/v1/shops/${SHOP}/order-lines/${LINE_ID}`, { headers: { authorization: `Bearer ${credentials.api_token}` } })
    ).json()) as { status: string };
    expect(line.status).toBe('persisted');
    const connection = await Connection.connect({ address: temporalAddress });
    try {
      // The run may have been stopped between recording the asset and announcing it: the
      // restarted worker resumes it to its end.
      const handle = new Client({ connection }).workflow.getHandle(`${SHOP}:${LINE_ID}:fulfillment`);
      expect(await handle.result()).toMatchObject({ status: 'persisted' });
      expect((await handle.describe()).status.name).toBe('COMPLETED');
    } finally {
      await connection.close();
    }
  } finally {
    expect(await stopDev(second)).toBe(0);
  }
}, 240_000);

it('makes its data folder when every secret is configured (nothing generated there first)', async () => {
  const nested = path.join(dataDir, 'configured', 'data');
  const running = await startDev({
    DATA_DIR: nested,
    API_TOKENS: 'configured-operator-token=*',
    SHOPIFY_WEBHOOK_SECRETS: 'configured-webhook-secret',
  });
  try {
    const health = await fetch(`${apiUrl}/readyz`);
    expect(health.status).toBe(200);
    // Nothing generated, so nothing written beside what the embedded services keep.
    await expect(readFile(path.join(nested, 'dev-credentials.json'))).rejects.toThrow(/ENOENT/);
  } finally {
    expect(await stopDev(running)).toBe(0);
  }
}, 120_000);
