import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Insertable } from 'kysely';
import type { Db } from '../../src/db/connect.js';
import type { FinalAssetsTable, OrderLinesTable, PreviewJobsTable } from '../../src/db/schema.js';
import { fulfillmentWorkflowId } from '../../src/domain/ids.js';
import { bigId, makePng, PREVIEW_BUCKET, PRINT_BUCKET } from '../support/fixtures.js';

/** A persisted line as seeded: its ids and the two objects it owns. */
export interface SeededLine {
  order_line_id: string;
  objects: string[];
}

/**
 * `count` persisted lines of one order, written as the workflow leaves them (row, final asset,
 * preview job, a preview and its copy in the local buckets), without running a workflow each:
 * a redaction of hundreds of lines is what is measured, not their fulfillment.
 */
export async function seedPersistedLines(db: Db, storageRoot: string, shop: string, orderId: string, count: number): Promise<SeededLine[]> {
  const lines: SeededLine[] = [];
  const rows = {
    order_lines: [] as Insertable<OrderLinesTable>[],
    final_assets: [] as Insertable<FinalAssetsTable>[],
    preview_jobs: [] as Insertable<PreviewJobsTable>[],
  };
  for (let index = 0; index < count; index++) {
    const line = bigId();
    const bytes = makePng(8 + (index % 32), 8);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const preview = `${shop}/pers-${line}.png`;
    const asset = `${shop}/${line}/${sha}.png`;
    for (const [bucket, key] of [
      [PREVIEW_BUCKET, preview],
      [PRINT_BUCKET, asset],
    ] as const) {
      const file = path.join(storageRoot, bucket, key);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, bytes);
    }
    const personalization_id = `pers-${line}`;
    rows.order_lines.push({
      shop_id: shop,
      order_line_id: line,
      order_id: orderId,
      personalization_id,
      workflow_id: fulfillmentWorkflowId({ shop_id: shop, order_line_id: line }),
      status: 'persisted',
    });
    rows.preview_jobs.push({
      shop_id: shop,
      personalization_id,
      job_id: `job-${line}`,
      status: 'ready',
      bucket: PREVIEW_BUCKET,
      path: preview,
    });
    rows.final_assets.push({
      association_key: `${shop}:${line}:final_asset`,
      shop_id: shop,
      order_line_id: line,
      bucket: PRINT_BUCKET,
      path: asset,
      sha256: sha,
      size_bytes: bytes.length,
      content_type: 'image/png',
      width: 8 + (index % 32),
      height: 8,
      source_bucket: PREVIEW_BUCKET,
      source_path: preview,
      job_id: `job-${line}`,
    });
    lines.push({ order_line_id: line, objects: [`${PREVIEW_BUCKET}/${preview}`, `${PRINT_BUCKET}/${asset}`] });
  }
  for (let start = 0; start < count; start += 500) {
    const end = start + 500;
    await db.insertInto('order_lines').values(rows.order_lines.slice(start, end)).execute();
    await db.insertInto('preview_jobs').values(rows.preview_jobs.slice(start, end)).execute();
    await db.insertInto('final_assets').values(rows.final_assets.slice(start, end)).execute();
  }
  return lines;
}
