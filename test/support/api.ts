/** Credentials, config and log capture of the API tests; test data is in `./fixtures.ts`. */
import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../src/config/config.js';

export { freePort } from './ports.js';

/** Credentials of a test file: fresh random values, so a leak into a log line is unmistakable. */
export function testCredentials() {
  const shop = `shop-${randomBytes(4).toString('hex')}.myshopify.com`;
  const otherShop = `other-${randomBytes(4).toString('hex')}.myshopify.com`;
  return {
    shop,
    otherShop,
    operatorToken: `op_${randomBytes(18).toString('hex')}`,
    merchantToken: `mt_${randomBytes(18).toString('hex')}`,
    otherMerchantToken: `ot_${randomBytes(18).toString('hex')}`,
    webhookSecret: `whsec_${randomBytes(16).toString('hex')}`,
    oldWebhookSecret: `whsec_old_${randomBytes(16).toString('hex')}`,
    signingSecret: randomBytes(32).toString('hex'),
  };
}
export type TestCredentials = ReturnType<typeof testCredentials>;

export function testConfig(credentials: TestCredentials, overrides: Record<string, string> = {}): Config {
  return loadConfig({
    SHOPIFY_WEBHOOK_SECRETS: `${credentials.webhookSecret},${credentials.oldWebhookSecret}`,
    API_TOKENS: [
      `${credentials.operatorToken}=*`,
      `${credentials.merchantToken}=${credentials.shop}`,
      `${credentials.otherMerchantToken}=${credentials.otherShop}`,
    ].join(','),
    LOG_LEVEL: 'trace',
    ...overrides,
  });
}

/** Every line the API logs, as text and parsed (the `logs` of `buildTestApp`). */
export class LogCapture {
  readonly lines: string[] = [];

  constructor(readonly level = 'trace') {}

  readonly write = (line: string): void => void this.lines.push(line);

  get text(): string {
    return this.lines.join('');
  }

  entries(): Record<string, unknown>[] {
    return this.lines.flatMap((line) => line.split('\n').filter(Boolean)).map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}
