import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listLineFailures } from '../../src/db/repositories/failures.js';
import type { FulfillmentInput } from '../../src/domain/fulfillment-input.js';
import { recoveryGuidance } from '../../src/domain/reasons.js';
import { retrySignal } from '../../src/workflows/definitions.js';
import { givenReadyPreview, makePng, newLine, PREVIEW_BUCKET, PRINT_BUCKET, sha256 } from '../support/fixtures.js';
import { startOnSupabase, type FulfillmentHarness } from '../support/fulfillment-harness.js';
import type { SupabaseStorageStandIn, StandInRequest } from '../support/supabase-storage-stand-in.js';
import { must } from '../support/must.js';
import { Teardown } from '../support/teardown.js';

/**
 * Supabase Storage misbehaving for real, over HTTP, under the real workflow and worker: a
 * request that never gets an answer, a download that stops mid-way with the connection open,
 * and several seconds of 5xx answers followed by reset connections. Each heals by retrying,
 * quickly, with nothing recorded as a failure. An outage that outlasts the ten attempts fails
 * the line, recorded, until an operator's retry. (Short 5xx bursts, single resets, AccessDenied
 * and a permanent 404 are in test/workflows/fulfill-order-line.supabase.test.ts.)
 */
const IDLE_TIMEOUT_MS = 2_000;

let standIn: SupabaseStorageStandIn;
let harness: FulfillmentHarness;

const teardown = new Teardown();
beforeAll(async () => {
  ({ standIn, harness } = await startOnSupabase(teardown, { idleTimeoutMs: IDLE_TIMEOUT_MS }));
});

afterAll(() => teardown.run());

/** Runs the line to its end and says how long it took. */
async function fulfil(line: FulfillmentInput) {
  const started = Date.now();
  const { workflow_id } = await harness.start(line);
  const result = await harness.handle(workflow_id).result();
  return { result, seconds: (Date.now() - started) / 1000 };
}

const on = (path: string, method?: string) => (request: StandInRequest) =>
  request.path.includes(path) && (method === undefined || request.method === method);

describe('Supabase Storage faults', () => {
  it('gives up on a request that is never answered, and retries it at once', async () => {
    const line = newLine();
    const png = makePng(40, 30);
    const { path } = await givenReadyPreview(harness, line, png);
    // The preview's metadata request and the copy into the print bucket each hang once, far
    // longer than the heartbeat timeout (30 s) and the test.
    standIn.delayNext(1, 120_000, { match: on(`/object/info/${PREVIEW_BUCKET}/${path}`) });
    standIn.delayNext(1, 120_000, { match: on('/object/copy', 'POST') });

    const { result, seconds } = await fulfil(line);
    console.log(`storage hanging twice (idle timeout ${IDLE_TIMEOUT_MS} ms): line persisted in ${seconds.toFixed(1)} s`);
    expect(result).toMatchObject({ status: 'persisted', final_asset: { sha256: sha256(png) } });
    expect(seconds).toBeLessThan(15);
    expect(await listLineFailures(harness.db, line.shop_id, line.order_line_id)).toEqual([]);
  });

  it('gives up on a download that stalls mid-way, and retries it', async () => {
    const line = newLine();
    const png = makePng(600, 600, [10, 200, 90]);
    const { path } = await givenReadyPreview(harness, line, png);
    standIn.stallNext(1, { afterBytes: 100, match: on(`/object/${PREVIEW_BUCKET}/${path}`, 'GET') });
    standIn.stallNext(1, { afterBytes: 100, match: on(`/object/${PRINT_BUCKET}/`, 'GET') });

    const { result, seconds } = await fulfil(line);
    console.log(`downloads stalling twice: line persisted in ${seconds.toFixed(1)} s`);
    expect(result).toMatchObject({ status: 'persisted', final_asset: { sha256: sha256(png), width: 600, height: 600 } });
    expect(seconds).toBeLessThan(15);
    const copy = await standIn.readObject({ bucket: PRINT_BUCKET, path: must(result.final_asset, 'the final asset').path });
    expect(copy && sha256(copy)).toBe(sha256(png));
  });

  it('waits out 5 s of 503s and then 5 s of reset connections', async () => {
    const line = newLine();
    const png = makePng(50, 20);
    await givenReadyPreview(harness, line, png);
    const start = Date.now();
    const failing = () => Date.now() - start < 5_000;
    const resetting = () => !failing() && Date.now() - start < 10_000;
    const before = standIn.requests.length;
    let count = 0;
    // Every other failing request gets the gateway's HTML page instead of storage's JSON.
    standIn.failNext(Number.MAX_SAFE_INTEGER, { status: 503, match: () => failing() && count++ % 2 === 0 });
    standIn.failNext(Number.MAX_SAFE_INTEGER, { status: 502, body: '<html><body>Bad gateway</body></html>', match: failing });
    standIn.resetNext(Number.MAX_SAFE_INTEGER, { match: resetting });

    const { result, seconds } = await fulfil(line);
    const requests = standIn.requests.length - before;
    console.log(
      `storage unavailable 10 s (503, then resets): line persisted in ${seconds.toFixed(1)} s after ${requests} storage requests`,
    );
    expect(result).toMatchObject({ status: 'persisted', final_asset: { sha256: sha256(png) } });
    expect(seconds).toBeGreaterThanOrEqual(10);
    expect(await listLineFailures(harness.db, line.shop_id, line.order_line_id)).toEqual([]);
    const assets = await harness.db.selectFrom('final_assets').selectAll().where('order_line_id', '=', line.order_line_id).execute();
    expect(assets).toHaveLength(1);
  });

  it('gives up after 10 attempts (about 2.5 minutes) as asset_inaccessible, and a retry after the outage persists the line', async () => {
    const line = newLine();
    const png = makePng(24, 24);
    const { path } = await givenReadyPreview(harness, line, png);
    let down = true;
    standIn.failNext(Number.MAX_SAFE_INTEGER, { status: 503, match: (request) => down && on(path)(request) });

    const started = Date.now();
    const { workflow_id } = await harness.start(line);
    const failed = await harness.waitForStatus(workflow_id, 'failed', 240_000);
    const seconds = (Date.now() - started) / 1000;
    console.log(`storage down for good: line failed after ${seconds.toFixed(1)} s`);
    expect(failed).toMatchObject({ reason_code: 'asset_inaccessible', recovery_guidance: recoveryGuidance('asset_inaccessible') });
    expect(failed.reason_message).toMatch(/^storage did not answer after 10 attempts/);
    // 1 + 2 + 4 + 8 + 16 + 30 × 4 s of backoff between the ten attempts.
    expect(seconds).toBeGreaterThanOrEqual(151);
    const failures = await listLineFailures(harness.db, line.shop_id, line.order_line_id);
    expect(failures.map((failure) => failure.reason_code)).toEqual(['asset_inaccessible']);
    await harness.posthog.waitFor(
      (event) => event.event === 'fulfillment.asset.failed' && event.properties.order_line_id === line.order_line_id,
      5_000,
    );

    down = false;
    await harness.handle(workflow_id).signal(retrySignal);
    expect(await harness.handle(workflow_id).result()).toMatchObject({ status: 'persisted', final_asset: { sha256: sha256(png) } });
  }, 300_000);
});
