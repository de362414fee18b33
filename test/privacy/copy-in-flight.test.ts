import { describe, expect, it } from 'vitest';
import { registerOrderLines } from '../../src/db/repositories/order-lines.js';
import { recordRedaction } from '../../src/db/repositories/privacy.js';
import { redactionWorkflowId } from '../../src/domain/privacy.js';
import { startRedaction } from '../../src/temporal/start-redaction.js';
import type { RedactShopData } from '../../src/workflows/redact-shop-data.js';
import { bigId, givenReadyPreview, newLine, PREVIEW_BUCKET, PRINT_BUCKET, makePng, uniqueShop } from '../support/fixtures.js';
import { FulfillmentHarness } from '../support/fulfillment-harness.js';

/**
 * A redaction that stops a line in the middle of its copy: the copy, let go only once the
 * redaction has finished, makes its object, finds the line erased when it records it, and
 * removes it: nothing is left behind (no object, no asset row), and the line stays redacted.
 */
describe('a redaction during a copy in flight', () => {
  it('the copy that finishes after its line was erased records nothing and removes its object', async () => {
    let entered!: () => void;
    const copying = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let copyDone!: (outcome: unknown) => void;
    const copyOutcome = new Promise((resolve) => (copyDone = resolve));
    const held = await FulfillmentHarness.start({
      wrapActivities: (activities) => ({
        ...activities,
        persistPreview: async (...args) => {
          entered();
          await released;
          return activities.persistPreview(...args).then(
            (asset) => {
              copyDone('recorded');
              return asset;
            },
            (error: unknown) => {
              copyDone(error instanceof Error ? error.name : 'error');
              throw error;
            },
          );
        },
      }),
    });
    try {
      const line = newLine({ shop_id: uniqueShop('in-flight') });
      await givenReadyPreview(held, line, makePng(10, 10));
      // The same design ordered again in an order not redacted: its preview is kept, so the copy can finish.
      await registerOrderLines(held.db, [{ ...line, order_id: bigId(), order_line_id: bigId() }]);
      await held.start(line);
      await copying;

      const row = await recordRedaction(held.db, {
        shop_id: line.shop_id,
        kind: 'customer',
        request_key: `customer:1:${line.order_id}`,
        order_ids: [line.order_id],
        received_at: new Date(),
      });
      const input = {
        redaction_id: row.redaction_id,
        shop_id: line.shop_id,
        kind: 'customer' as const,
        preview_bucket: PREVIEW_BUCKET,
        print_bucket: PRINT_BUCKET,
      };
      await startRedaction(held.client, held.taskQueue, input);
      const counts = await held.client.workflow
        .getHandle<typeof RedactShopData>(redactionWorkflowId(line.shop_id, row.redaction_id))
        .result();
      expect(counts).toEqual({ orders_redacted: 1, lines_redacted: 1, objects_deleted: 0 });

      release();
      expect(await copyOutcome).toBe('LineRedactedError');
      const left: string[] = [];
      for await (const paths of held.storage.list({ bucket: PRINT_BUCKET, folder: line.shop_id })) left.push(...paths);
      expect(left).toEqual([]);
      expect(await held.db.selectFrom('final_assets').select('order_line_id').where('shop_id', '=', line.shop_id).execute()).toEqual([]);
      const rows = await held.db
        .selectFrom('order_lines')
        .select(['status', 'personalization_id'])
        .where('shop_id', '=', line.shop_id)
        .where('order_line_id', '=', line.order_line_id)
        .execute();
      expect(rows).toEqual([{ status: 'redacted', personalization_id: '' }]);
    } finally {
      release();
      await held.close();
    }
  });
});
