import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listLineFailures } from '../../src/db/repositories/failures.js';
import { givenReadyPreview, makePng, newLine, PREVIEW_BUCKET, PRINT_BUCKET, recordJob, sha256 } from '../support/fixtures.js';
import { startOnSupabase, type FulfillmentHarness } from '../support/fulfillment-harness.js';
import { must } from '../support/must.js';
import type { SupabaseStorageStandIn } from '../support/supabase-storage-stand-in.js';
import { Teardown } from '../support/teardown.js';

/** The same workflow on Supabase Storage, over HTTP, through the stand-in's fault switches. */
describe('FulfillOrderLine on Supabase Storage', () => {
  let standIn: SupabaseStorageStandIn;
  let harness: FulfillmentHarness;
  const teardown = new Teardown();
  beforeAll(async () => {
    ({ standIn, harness } = await startOnSupabase(teardown));
  });
  afterAll(() => teardown.run());

  it('persists through storage answering 503 and resetting connections for a while', async () => {
    const line = newLine();
    const png = makePng(64, 32);
    await givenReadyPreview(harness, line, png);
    standIn.failNext(2, { status: 503 });
    standIn.resetNext(1);

    const { workflow_id } = await harness.start(line);
    const result = await harness.handle(workflow_id).result();

    expect(result).toMatchObject({ status: 'persisted', final_asset: { sha256: sha256(png), width: 64, height: 32 } });
    const copied = await standIn.readObject({ bucket: PRINT_BUCKET, path: must(result.final_asset, 'the final asset').path });
    expect(copied && sha256(copied)).toBe(sha256(png));
    expect(await listLineFailures(harness.db, line.shop_id, line.order_line_id)).toEqual([]);
  });

  it('fails asset_inaccessible when the bucket refuses the service, and persists after access is fixed', async () => {
    const line = newLine();
    await givenReadyPreview(harness, line, makePng(8, 8));
    standIn.deny(PREVIEW_BUCKET);
    try {
      const { workflow_id } = await harness.start(line);
      const failed = await harness.waitForStatus(workflow_id, 'failed');
      expect(failed.reason_code).toBe('asset_inaccessible');
    } finally {
      standIn.allow(PREVIEW_BUCKET);
    }
    const handle = harness.handle(`${line.shop_id}:${line.order_line_id}:fulfillment`);
    await handle.signal('retry');
    expect(await handle.result()).toMatchObject({ status: 'persisted' });
  });

  it('fails asset_missing on a permanent 404 without endless retrying', async () => {
    const line = newLine();
    await recordJob(harness.db, line, { path: 'nowhere.png', jobId: 'job-x' });
    const before = standIn.requests.length;
    const { workflow_id } = await harness.start(line);
    expect((await harness.waitForStatus(workflow_id, 'failed')).reason_code).toBe('asset_missing');
    const onMissingObject = standIn.requests.slice(before).filter((request) => request.path.includes('nowhere.png'));
    expect(onMissingObject).toHaveLength(1);
  });
});
