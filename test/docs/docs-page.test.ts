import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { chromium, type BrowserContext } from 'playwright-core';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prefersHtml } from '../../src/api/routes/docs.js';
import { loadConfig } from '../../src/config/config.js';
import type { Db } from '../../src/db/connect.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { NoopTelemetry } from '../../src/telemetry/telemetry.js';
import { buildTestApp } from '../support/capture-app.js';

/** The API reference people open: swagger-ui's page at `/docs`, the document beside it. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Two the page must show, whatever else the API adds (the document's own test lists them all: test/api). */
const NAMED = ['POST /webhooks/shopify', 'POST /v1/previews'];

let app: FastifyInstance;

/** A stand-in for a dependency these routes never use: any use of it fails the test, named. */
function unreachable(name: string): object {
  return new Proxy(
    {},
    {
      get: (_target, key) => {
        throw new Error(`the docs routes used ${name} (${String(key)})`);
      },
    },
  );
}
let base: string;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'printready-docs-'));
  const signingSecret = 'docs-test-signing-secret-0123456789abcdef';
  // Only the docs routes are called: the database and Temporal are never reached.
  app = await buildTestApp({
    config: loadConfig({ DATA_DIR: dataDir, API_TOKENS: 'docs-test-operator-token-0123456789=*' }),
    db: unreachable('the database') as Db,
    storage: new LocalStorage({ root: dataDir, publicBaseUrl: 'http://127.0.0.1', signingSecret }),
    temporal: { client: unreachable('Temporal') as Client, taskQueue: 'docs' },
    telemetry: new NoopTelemetry(),
    localSigningSecret: signingSecret,
    logs: { name: 'api-docs' },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await app.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** What the test reads of a rendered operation (the DOM's types are not in this project's lib). */
interface RenderedBlock {
  querySelector(selector: string): { textContent: string | null; getAttribute(name: string): string | null } | null;
}

const operations = (document: { paths: Record<string, Record<string, unknown>> }) =>
  Object.entries(document.paths).flatMap(([route, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${route}`));

describe('the OpenAPI document', () => {
  it('is at /docs/json and /docs/yaml, with every route', async () => {
    const json = await fetch(`${base}/docs/json`);
    expect(json.status).toBe(200);
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    const document = (await json.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(document.openapi).toMatch(/^3\.1/);
    expect(operations(document)).toEqual(expect.arrayContaining(NAMED));

    const yaml = await fetch(`${base}/docs/yaml`);
    expect(yaml.status).toBe(200);
    expect(parseYaml(await yaml.text())).toEqual(document);
  });

  it('is what /docs answers a client that asks for JSON, or for anything (the contract’s GET /docs)', async () => {
    const document = await (await fetch(`${base}/docs/json`)).json();
    for (const accept of ['application/json', '*/*', 'application/json, text/html;q=0.5']) {
      const response = await fetch(`${base}/docs`, { headers: { accept } });
      expect(response.status, accept).toBe(200);
      expect(response.headers.get('content-type'), accept).toMatch(/^application\/json/);
      expect(response.headers.get('vary'), accept).toMatch(/accept/i);
      expect(await response.json(), accept).toEqual(document);
    }
    const withoutAccept = await app.inject({ url: '/docs' });
    expect(withoutAccept.json()).toEqual(document);
  });

  it('leaves the page to clients that prefer HTML', () => {
    expect(prefersHtml('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8')).toBe(true);
    expect(prefersHtml('text/*, application/json;q=0.9')).toBe(true);
    expect(prefersHtml('text/html;q=0.5, application/json')).toBe(false);
    expect(prefersHtml('text/html;q=0, */*')).toBe(false);
    expect(prefersHtml('*/*')).toBe(false);
    expect(prefersHtml(undefined)).toBe(false);
  });
});

describe('the page at /docs, in headless Chromium', () => {
  let browser: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    // A fresh profile (`--user-data-dir`) each run: nothing cached from an earlier one.
    profile = await mkdtemp(path.join(os.tmpdir(), 'printready-chromium-'));
    browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  });

  afterAll(async () => {
    await browser.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it('renders every route as an operation, loading nothing from outside this server', async () => {
    const page = await browser.newPage();
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    const failed: string[] = [];
    page.on('requestfailed', (request) => failed.push(`${request.url()}: ${request.failure()?.errorText}`));
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));

    const response = await page.goto(`${base}/docs`, { waitUntil: 'networkidle' });
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-type']).toMatch(/^text\/html/);
    await page.locator('.opblock').first().waitFor();

    const rendered = await page.locator('.opblock-summary').evaluateAll((blocks: RenderedBlock[]) =>
      blocks.map((block) => {
        const method = block.querySelector('.opblock-summary-method')?.textContent?.trim() ?? '';
        const route = block.querySelector('.opblock-summary-path')?.getAttribute('data-path') ?? '';
        return `${method} ${route}`;
      }),
    );
    const document = (await (await fetch(`${base}/docs/json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    expect(rendered.sort()).toEqual(operations(document).sort());
    expect(rendered).toEqual(expect.arrayContaining(NAMED));
    expect(await page.title()).toBe('printready API');

    expect(errors).toEqual([]);
    expect(failed).toEqual([]);
    expect(requested.length).toBeGreaterThan(3);
    expect(requested.filter((url) => !url.startsWith(`${base}/`) && !url.startsWith('data:'))).toEqual([]);
    expect(requested).toContain(`${base}/docs/json`);
    await page.close();
  });
});
