import type { Config } from '../config/config.js';
import type { DevCredentials } from './dev-credentials.js';

export interface BannerFacts {
  apiUrl: string;
  temporalUiUrl: string | null;
  dataDir: string;
  config: Config;
  generated: DevCredentials['generated'];
}

/** What a newcomer needs to start using the running service; configured secrets are never shown. */
export function printBanner({ apiUrl, temporalUiUrl, dataDir, config, generated }: BannerFacts): void {
  const rows: [string, string][] = [
    ['API', apiUrl],
    ['API docs', `${apiUrl}/docs`],
    ['Metrics', `${apiUrl}/metrics`],
    [
      'Worker metrics',
      config.WORKER_METRICS_ADDRESS
        ? `http://${config.WORKER_METRICS_ADDRESS}/metrics (Temporal SDK)`
        : 'off (WORKER_METRICS_ADDRESS empty)',
    ],
    ['Temporal UI', temporalUiUrl ?? `external cluster at ${config.TEMPORAL_ADDRESS}`],
    ['Database', config.DATABASE_URL ? 'DATABASE_URL' : `PGlite in ${dataDir}/pglite`],
    ['Storage', config.SUPABASE_URL ? `Supabase at ${config.SUPABASE_URL}` : `${dataDir}/storage/<bucket>/<path>`],
    ['Telemetry', config.POSTHOG_API_KEY ? `PostHog at ${config.POSTHOG_HOST}` : 'off (no POSTHOG_API_KEY)'],
  ];
  if (generated.api_token) rows.push(['Operator token', `${generated.api_token}  (generated; set API_TOKENS to choose)`]);
  if (generated.webhook_secret) {
    rows.push(['Webhook secret', `${generated.webhook_secret}  (generated; set SHOPIFY_WEBHOOK_SECRETS to choose)`]);
  }
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`);
  process.stdout.write(`\nprintready (dev)\n${lines.join('\n')}\n\nprintready ready — Ctrl-C stops everything\n\n`);
}
