import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordRedaction } from '../../src/db/repositories/privacy.js';
import { redactionWorkflowId } from '../../src/domain/privacy.js';
import { startRedaction } from '../../src/temporal/start-redaction.js';
import type { RedactShopData } from '../../src/workflows/redact-shop-data.js';
import { bigId, givenReadyPreview, makePng, newLine, PREVIEW_BUCKET, PRINT_BUCKET, uniqueShop } from '../support/fixtures.js';
import { startOnSupabase, type FulfillmentHarness } from '../support/fulfillment-harness.js';
import type { SupabaseStorageStandIn } from '../support/supabase-storage-stand-in.js';
import { Teardown } from '../support/teardown.js';

/** `RedactShopData` on Supabase Storage, over HTTP to the stand-in: the same erasure as on the local backend. */
describe('RedactShopData on Supabase Storage', () => {
  let standIn: SupabaseStorageStandIn;
  let harness: FulfillmentHarness;
  const teardown = new Teardown();
  beforeAll(async () => {
    ({ standIn, harness } = await startOnSupabase(teardown));
  });
  afterAll(() => teardown.run());

  async function persisted(line: ReturnType<typeof newLine>): Promise<void> {
    await givenReadyPreview(harness, line, makePng(12, 6));
    const { workflow_id } = await harness.start(line);
    expect((await harness.handle(workflow_id).result()).status).toBe('persisted');
  }

  /** `bucket/path` of every object under the shop's folders. */
  const objectsOf = (shop: string) =>
    [PREVIEW_BUCKET, PRINT_BUCKET].flatMap((bucket) => standIn.keys(bucket, `${shop}/`).map((path) => `${bucket}/${path}`));

  it('customers/redact deletes the lines’ objects; shop/redact then empties the shop’s folders, another shop keeps its bytes', async () => {
    const orderId = bigId();
    const redacted = newLine({ shop_id: uniqueShop('redacted'), order_id: orderId });
    const kept = newLine({ shop_id: redacted.shop_id });
    const bystander = newLine({ shop_id: uniqueShop('bystander'), order_id: orderId });
    for (const line of [redacted, kept, bystander]) await persisted(line);
    await standIn.putObject({ bucket: PRINT_BUCKET, path: `${redacted.shop_id}/stray/left-behind.png` }, makePng(2, 2), 'image/png');
    const bystanderBytes = await Promise.all(objectsOf(bystander.shop_id).map((key) => standIn.readObject(keyRef(key))));

    const redact = async (kind: 'customer' | 'shop', orderIds: string[]) => {
      const row = await recordRedaction(harness.db, {
        shop_id: redacted.shop_id,
        kind,
        request_key: kind === 'shop' ? 'shop' : `customer:1:${orderIds.join(',')}`,
        order_ids: orderIds,
        received_at: new Date(),
      });
      const input = {
        redaction_id: row.redaction_id,
        shop_id: row.shop_id,
        kind,
        preview_bucket: PREVIEW_BUCKET,
        print_bucket: PRINT_BUCKET,
      };
      await startRedaction(harness.client, harness.taskQueue, input);
      return harness.client.workflow.getHandle<typeof RedactShopData>(redactionWorkflowId(row.shop_id, row.redaction_id)).result();
    };

    expect(await redact('customer', [orderId])).toEqual({ orders_redacted: 1, lines_redacted: 1, objects_deleted: 2 });
    expect(
      objectsOf(redacted.shop_id).filter((key) => key.includes(redacted.order_line_id) || key.includes(redacted.personalization_id)),
    ).toEqual([]);
    expect(objectsOf(redacted.shop_id)).toHaveLength(3);

    expect(await redact('shop', [])).toEqual({ orders_redacted: 2, lines_redacted: 1, objects_deleted: 3 });
    expect(objectsOf(redacted.shop_id)).toEqual([]);
    expect(await Promise.all(objectsOf(bystander.shop_id).map((key) => standIn.readObject(keyRef(key))))).toEqual(bystanderBytes);
    expect(bystanderBytes).toHaveLength(2);
  });
});

/** A `bucket/path` of `objectsOf` as a ref. */
function keyRef(key: string) {
  const [bucket = '', ...rest] = key.split('/');
  return { bucket, path: rest.join('/') };
}
