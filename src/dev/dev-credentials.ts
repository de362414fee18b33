import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Config } from '../config/config.js';

const credentialsSchema = z.object({ api_token: z.string(), webhook_secret: z.string() });

export interface DevCredentials {
  config: Config;
  /** Only what was generated here; configured secrets are never shown. */
  generated: { api_token?: string; webhook_secret?: string };
}

/**
 * `npm run dev` works without any secret configured: it makes an operator token and a webhook
 * secret once, keeps them in the data folder (`main` makes it first), and uses them on every start.
 */
export async function devCredentials(config: Config): Promise<DevCredentials> {
  const needToken = config.API_TOKENS.length === 0;
  const needSecret = config.SHOPIFY_WEBHOOK_SECRETS.length === 0;
  if (!needToken && !needSecret) return { config, generated: {} };

  const file = path.resolve(config.DATA_DIR, 'dev-credentials.json');
  const stored = await readFile(file, 'utf8')
    .then((text) => credentialsSchema.parse(JSON.parse(text)))
    .catch(() => undefined);
  const credentials = stored ?? {
    api_token: `dev_${randomBytes(24).toString('base64url')}`,
    webhook_secret: `dev_${randomBytes(24).toString('base64url')}`,
  };
  if (!stored) {
    await writeFile(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  }
  return {
    config: {
      ...config,
      API_TOKENS: needToken ? [{ token: credentials.api_token, scope: '*' }] : config.API_TOKENS,
      SHOPIFY_WEBHOOK_SECRETS: needSecret ? [credentials.webhook_secret] : config.SHOPIFY_WEBHOOK_SECRETS,
    },
    generated: {
      ...(needToken ? { api_token: credentials.api_token } : {}),
      ...(needSecret ? { webhook_secret: credentials.webhook_secret } : {}),
    },
  };
}
