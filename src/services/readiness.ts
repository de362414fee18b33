import { sql } from 'kysely';
import { withTemporalDeadline } from '../intake/temporal-deadline.js';
import { settlesWithin } from '../lib/settles-within.js';
import type { RequestLog } from '../logging/request-log.js';
import type { ServiceDeps } from './deps.js';
import { ERRORS } from './errors.js';

type CheckResult = 'ok' | 'unavailable';

/** Resolves 'ok' or 'unavailable' within `timeoutMs`, whatever the check does. */
async function check(timeoutMs: number, probe: () => Promise<unknown>): Promise<CheckResult> {
  const probed = probe().then(
    () => 'ok' as const,
    () => 'unavailable' as const,
  );
  return (await settlesWithin(probed, timeoutMs)) ? probed : 'unavailable';
}

/** Whether the database and Temporal answer, each within `timeoutMs`; `not_ready` naming those that did not. */
export async function checkReadiness({ db, temporal }: Pick<ServiceDeps, 'db' | 'temporal'>, timeoutMs: number, log: RequestLog) {
  const [database, temporalCheck] = await Promise.all([
    check(timeoutMs, () => sql`select 1`.execute(db)),
    check(timeoutMs, () => withTemporalDeadline(temporal.client, timeoutMs, () => temporal.client.workflowService.getSystemInfo({}))),
  ]);
  const checks = { database, temporal: temporalCheck };
  const failed = Object.entries(checks)
    .filter(([, result]) => result !== 'ok')
    .map(([name]) => name);
  if (failed.length > 0) {
    log.logger.warn({ checks }, 'not ready');
    throw ERRORS.notReady(failed, checks);
  }
  return { status: 'ready' as const, checks: { database: 'ok' as const, temporal: 'ok' as const } };
}
