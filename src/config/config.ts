import { z } from 'zod';
import { DEFAULT_PREVIEW_WAIT_SECONDS } from '../domain/fulfillment-input.js';
import { shopIdSchema } from '../domain/ids.js';
import { bucketSchema } from '../domain/preview-job.js';
import { SIGNED_URL_TTL_BOUNDS } from '../domain/signed-url.js';

/** Values are trimmed, and one that is empty or only spaces is unset (its default applies). */
const emptyAsUndefined = (value: unknown) => (typeof value === 'string' ? value.trim() || undefined : value);

const optionalString = z.preprocess(emptyAsUndefined, z.string().optional());

const integer = (fallback: number, min: number, max: number) =>
  z.preprocess(emptyAsUndefined, z.coerce.number().int().min(min).max(max).default(fallback));

const commaList = z.preprocess(
  emptyAsUndefined,
  z
    .string()
    .optional()
    .transform((raw) =>
      (raw ?? '')
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part.length > 0),
    ),
);

/**
 * Bearer tokens and signing keys are guessable below this many characters. The signing secret
 * printready keeps for itself is refused shorter; tokens and the order events' key, which other
 * parties choose too, are taken with a warning at start-up (`isGuessable`).
 */
export const MIN_SECRET_LENGTH = 32;
export const isGuessable = (secret: string): boolean => secret.length < MIN_SECRET_LENGTH;

/** `token=scope`; scope `*` reaches every shop, otherwise exactly one shop domain. */
const apiTokenSchema = z.string().transform((entry, ctx) => {
  const separator = entry.lastIndexOf('=');
  const token = entry.slice(0, separator).trim();
  const scope = entry.slice(separator + 1).trim();
  if (separator <= 0 || token.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'each entry must be token=scope' });
    return z.NEVER;
  }
  if (scope !== '*' && !shopIdSchema.safeParse(scope).success) {
    ctx.addIssue({ code: 'custom', message: 'scope must be * or a shop domain like example.myshopify.com' });
    return z.NEVER;
  }
  return { token, scope };
});

/** `shop_id=access_token`: a shop's offline Admin API token, which reconciliation sweeps the shop with. */
const adminTokenSchema = z.string().transform((entry, ctx) => {
  const separator = entry.indexOf('=');
  const shop = entry.slice(0, separator).trim();
  const token = entry.slice(separator + 1).trim();
  if (separator <= 0 || token.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'each entry must be shop_id=access_token' });
    return z.NEVER;
  }
  if (!shopIdSchema.safeParse(shop).success) {
    ctx.addIssue({ code: 'custom', message: 'shop_id must be a shop domain like example.myshopify.com' });
    return z.NEVER;
  }
  return { shop_id: shop, token };
});

/** `host:port` to listen on; unset takes the default, empty turns the endpoint off (null). */
const listenAddress = (fallback: string) =>
  z
    .string()
    .trim()
    .regex(/^$|^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):\d{1,5}$/, 'must be host:port (e.g. 127.0.0.1:9464), or empty to turn it off')
    .default(fallback)
    .transform((address) => address || null);

const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/**
 * Every setting printready reads, validated once at start-up. Names and defaults are the
 * contract's (`CONTRACT.md`, Configuration); the few extras are documented in the README.
 */
export const configSchema = z
  .object({
    PORT: integer(3000, 0, 65535),
    HOST: z.preprocess(emptyAsUndefined, z.string().default('127.0.0.1')),
    PUBLIC_URL: z.preprocess(emptyAsUndefined, z.url().optional()),
    DATA_DIR: z.preprocess(emptyAsUndefined, z.string().default('.data')),
    DATABASE_URL: z.preprocess(
      emptyAsUndefined,
      z
        .string()
        .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// connection URL')
        .optional(),
    ),
    TEMPORAL_ADDRESS: optionalString,
    TEMPORAL_NAMESPACE: z.preprocess(emptyAsUndefined, z.string().default('default')),
    TEMPORAL_TASK_QUEUE: z.preprocess(emptyAsUndefined, z.string().default('fulfillment')),
    TEMPORAL_API_KEY: optionalString,
    TEMPORAL_TLS: z.preprocess(emptyAsUndefined, z.stringbool().default(false)),
    TEMPORAL_TLS_CERT_PATH: optionalString,
    TEMPORAL_TLS_KEY_PATH: optionalString,
    TEMPORAL_TLS_CA_PATH: optionalString,
    TEMPORAL_CLI_PATH: optionalString,
    TEMPORAL_DEV_PORT: integer(7233, 1, 65535),
    TEMPORAL_UI_PORT: integer(8233, 1, 65535),
    SHOPIFY_WEBHOOK_SECRETS: commaList,
    API_TOKENS: commaList
      .pipe(z.array(apiTokenSchema))
      .refine((tokens) => new Set(tokens.map(({ token }) => token)).size === tokens.length, 'a token may appear only once'),
    SUPABASE_URL: z.preprocess(emptyAsUndefined, z.url().optional()),
    SUPABASE_SERVICE_ROLE_KEY: optionalString,
    PREVIEW_BUCKET: z.preprocess(emptyAsUndefined, bucketSchema.default('previews')),
    PRINT_BUCKET: z.preprocess(emptyAsUndefined, bucketSchema.default('print-assets')),
    PREVIEW_WAIT_SECONDS: integer(DEFAULT_PREVIEW_WAIT_SECONDS, 0, 7 * 24 * 3600),
    SIGNED_URL_TTL_SECONDS: integer(900, SIGNED_URL_TTL_BOUNDS.min, SIGNED_URL_TTL_BOUNDS.max),
    // `new,old` during a rotation; the storage backend splits it (signs with the first, accepts all).
    LOCAL_SIGNING_SECRET: z.preprocess(
      emptyAsUndefined,
      z
        .string()
        .refine(
          (raw) => raw.split(',').every((entry) => !isGuessable(entry.trim())),
          `must be a comma-separated list of secrets, each at least ${MIN_SECRET_LENGTH} characters long`,
        )
        .optional(),
    ),
    POSTHOG_API_KEY: optionalString,
    POSTHOG_HOST: z.preprocess(emptyAsUndefined, z.url().default('https://us.i.posthog.com')),
    LOG_LEVEL: z.preprocess(emptyAsUndefined, logLevel.default('info')),
    WORKER_MAX_CONCURRENT_ACTIVITIES: integer(100, 1, 10_000),
    WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: integer(100, 1, 10_000),
    WORKER_MAX_CACHED_WORKFLOWS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(100_000).optional()),
    WORKER_METRICS_ADDRESS: listenAddress('127.0.0.1:9464'),
    WORKER_APP_METRICS_ADDRESS: listenAddress('127.0.0.1:9465'),
    WORKER_APP_METRICS_URLS: commaList.pipe(z.array(z.url())),
    ORDER_EVENTS_URL: z.preprocess(emptyAsUndefined, z.url({ protocol: /^https?$/ }).optional()),
    ORDER_EVENTS_SECRET: optionalString,
    ORDER_EVENTS_URL_TTL_SECONDS: integer(SIGNED_URL_TTL_BOUNDS.max, SIGNED_URL_TTL_BOUNDS.min, SIGNED_URL_TTL_BOUNDS.max),
    SHOPIFY_ADMIN_TOKENS: commaList
      .pipe(z.array(adminTokenSchema))
      .refine((tokens) => new Set(tokens.map(({ shop_id }) => shop_id)).size === tokens.length, 'a shop may appear only once'),
    RECONCILE_INTERVAL_MINUTES: integer(15, 0, 7 * 24 * 60),
    // Unset: each shop's own `https://<shop_id>`; set (a proxy, a test stand-in): every shop's requests go there.
    SHOPIFY_ADMIN_ORIGIN: z.preprocess(emptyAsUndefined, z.url().optional()),
    SHOPIFY_API_VERSION: z.preprocess(
      emptyAsUndefined,
      z
        .string()
        .regex(/^(\d{4}-\d{2}|unstable)$/, 'must be a Shopify API version like 2025-10')
        .default('2025-10'),
    ),
  })
  .superRefine((env, ctx) => {
    if (env.SUPABASE_URL && !env.SUPABASE_SERVICE_ROLE_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['SUPABASE_SERVICE_ROLE_KEY'],
        message: 'is required when SUPABASE_URL is set',
      });
    }
    // A CA that is never used would leave the operator believing the connection is verified.
    if (env.TEMPORAL_TLS_CA_PATH && !env.TEMPORAL_TLS) {
      ctx.addIssue({
        code: 'custom',
        path: ['TEMPORAL_TLS_CA_PATH'],
        message: 'is set but TEMPORAL_TLS is not true: set TEMPORAL_TLS=true to connect with that CA, or unset TEMPORAL_TLS_CA_PATH',
      });
    }
    // Unsigned events could be forged by anyone who can reach the print side's receiver.
    if (env.ORDER_EVENTS_URL && !env.ORDER_EVENTS_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['ORDER_EVENTS_SECRET'], message: 'is required when ORDER_EVENTS_URL is set' });
    }
    if (Boolean(env.TEMPORAL_TLS_CERT_PATH) !== Boolean(env.TEMPORAL_TLS_KEY_PATH)) {
      ctx.addIssue({
        code: 'custom',
        path: ['TEMPORAL_TLS_KEY_PATH'],
        message: 'TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together',
      });
    }
  });

export type Config = z.output<typeof configSchema>;
export type ApiToken = Config['API_TOKENS'][number];
export type AdminToken = Config['SHOPIFY_ADMIN_TOKENS'][number];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses the environment; the error names each bad variable and what is wrong with it. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const [name = 'environment', entry] = issue.path;
    const where = typeof entry === 'number' ? `entry ${entry + 1} ` : '';
    return `${String(name)}: ${where}${issue.message}`;
  });
  throw new ConfigError(`Invalid configuration: ${problems.join('; ')}. Fix the environment and start again.`);
}
