import { randomInt } from 'node:crypto';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { signShopifyBody } from '../intake/shopify.js';
import { loadConfig } from '../config/config.js';
import { devCredentials } from '../dev/dev-credentials.js';
import type { LineStatusView } from '../domain/line-status.js';
import { exitOnStartupFailure } from '../entry/fatal.js';
import { StartupError } from '../entry/startup-error.js';
import { publicBaseUrl } from '../adapters.js';
import { sampleOrderPayload } from './sample-order.js';

const SHOP = 'demo-shop.myshopify.com';
const SAMPLE_PREVIEW = fileURLToPath(new URL('./sample-preview.png', import.meta.url));
const TERMINAL = new Set(['persisted', 'failed']);

/** An 18-digit id above 2^53, as Shopify's own are. */
const shopifyId = () => `${randomInt(1, 9)}${String(randomInt(0, 1e8)).padStart(8, '0')}${String(randomInt(0, 1e9)).padStart(9, '0')}`;

/**
 * `npm run demo`, against a running `npm run dev`: a generator's preview, a signed Shopify
 * order with a personalized line, a broken one and a plain one, and what became of each.
 */
async function main(): Promise<void> {
  const { config } = await devCredentials(loadConfig());
  if (config.SUPABASE_URL) throw new StartupError('the demo drops its preview into local storage; unset SUPABASE_URL for it.');
  const baseUrl = process.env.PRINTREADY_URL ?? publicBaseUrl(config);
  const token = config.API_TOKENS.find((entry) => entry.scope === '*' || entry.scope === SHOP)?.token;
  const secret = config.SHOPIFY_WEBHOOK_SECRETS[0];
  if (!token || !secret) throw new StartupError(`API_TOKENS needs a token for * or ${SHOP}, and SHOPIFY_WEBHOOK_SECRETS a secret.`);
  const api = apiClient(baseUrl, token);
  await api('GET', '/readyz').catch((error: unknown) => {
    throw new StartupError(`printready is not answering at ${baseUrl} (${(error as Error).message}). Start it with npm run dev first.`);
  });

  const personalizationId = `demo-${Date.now()}`;
  const previewPath = `${SHOP}/${personalizationId}.png`;
  const previewFile = path.resolve(config.DATA_DIR, 'storage', config.PREVIEW_BUCKET, previewPath);
  await mkdir(path.dirname(previewFile), { recursive: true });
  await copyFile(SAMPLE_PREVIEW, previewFile);
  step(`1. The generator rendered a preview: ${previewFile}`);
  await api('POST', '/v1/previews', {
    shop_id: SHOP,
    personalization_id: personalizationId,
    job_id: `job-${personalizationId}`,
    status: 'ready',
    path: previewPath,
    content_type: 'image/png',
  });
  step(`2. …and handed it off: POST /v1/previews (personalization_id ${personalizationId})`);

  const [good, broken, plain] = [shopifyId(), shopifyId(), shopifyId()];
  const body = sampleOrderPayload(
    shopifyId(),
    [
      { id: good, properties: [{ name: '_personalization_id', value: personalizationId }] },
      { id: broken, properties: [{ name: '_personalization_id', value: `demo-never-rendered-${Date.now()}` }] },
      { id: plain, properties: null },
    ],
    SHOP,
  );
  const delivery = (await webhook(baseUrl, body, secret)) as { accepted: unknown[]; ignored: unknown[] };
  step(
    `3. Shopify delivered orders/create: ${delivery.accepted.length} lines started, ${delivery.ignored.length} ignored (not personalized)`,
  );

  const [goodLine, brokenLine] = await Promise.all([waitForOutcome(api, good), waitForOutcome(api, broken)]);
  step(`4. Outcomes`);
  const asset = goodLine.final_asset;
  console.log(
    `   line ${good}: ${goodLine.status}${asset ? ` → ${asset.bucket}/${asset.path} (${asset.width}×${asset.height}, sha256 ${asset.sha256})` : ''}`,
  );
  console.log(`   line ${broken}: ${brokenLine.status} (${brokenLine.reason_code}): ${brokenLine.reason_message}`);
  console.log(`      guidance: ${brokenLine.recovery_guidance}`);
  console.log(`   line ${plain}: not personalized, nothing to fulfill`);

  if (goodLine.status === 'persisted') {
    const signed = (await api('POST', `/v1/shops/${SHOP}/order-lines/${good}/final-asset/signed-url`, { expires_in: 3600 })) as {
      url: string;
      expires_at: string;
    };
    step(`5. A signed URL for the print supplier, valid until ${signed.expires_at}:\n   ${signed.url}`);
  }
  const ui = config.TEMPORAL_ADDRESS ? 'your Temporal UI' : `http://127.0.0.1:${config.TEMPORAL_UI_PORT}`;
  const query = encodeURIComponent(`ShopId="${SHOP}"`);
  step(`6. In the Temporal UI: ${ui}/namespaces/${config.TEMPORAL_NAMESPACE}/workflows?query=${query}`);
  console.log(`   The failed line waits for a retry: fix the cause, then POST /v1/shops/${SHOP}/order-lines/${broken}/retry`);
}

type Api = (method: 'GET' | 'POST', route: string, body?: unknown) => Promise<unknown>;

function apiClient(baseUrl: string, token: string): Api {
  return async (method, route, body) => {
    const response = await fetch(new URL(route, baseUrl), {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(`${method} ${route} answered ${response.status}: ${JSON.stringify(answer)}`);
    return answer;
  };
}

async function webhook(baseUrl: string, body: string, secret: string): Promise<unknown> {
  const response = await fetch(new URL('/webhooks/shopify', baseUrl), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-shopify-topic': 'orders/create',
      'x-shopify-shop-domain': SHOP,
      'x-shopify-hmac-sha256': signShopifyBody(body, secret),
      'x-shopify-webhook-id': `demo-${Date.now()}`,
      'x-shopify-api-version': '2025-10',
    },
    body,
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`the webhook answered ${response.status}: ${JSON.stringify(answer)}`);
  return answer;
}

async function waitForOutcome(api: Api, orderLineId: string): Promise<LineStatusView> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const line = (await api('GET', `/v1/shops/${SHOP}/order-lines/${orderLineId}`)) as LineStatusView;
    if (TERMINAL.has(line.status) || Date.now() > deadline) return line;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function step(text: string): void {
  console.log(`\n${text}`);
}

main().catch(exitOnStartupFailure('printready demo'));
