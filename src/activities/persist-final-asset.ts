import type { Db } from '../db/connect.js';
import { whileDatabaseUnavailable, type DatabaseWait } from '../db/while-unavailable.js';
import { findFinalAsset, persistFinalAsset as recordFinalAsset, type RecordedAsset } from '../db/repositories/final-assets.js';
import type { FulfillmentInput } from '../domain/fulfillment-input.js';
import type { FinalAsset } from '../domain/line-status.js';
import { IMAGE_EXTENSIONS } from '../domain/images.js';
import type { ObjectStorage, StreamOptions } from '../storage/object-storage.js';
import { assetBytesTotal, lineDurationSeconds, linesTotal } from '../telemetry/metrics/metrics.js';
import type { LineRecorded, VerifiedPreview } from './types.js';

/**
 * Where a line's asset lives in the print bucket. Named by its content, so a URL is unique per
 * asset (suppliers cache by URL) and a repeated copy lands on the identical object.
 */
export const finalAssetPath = (input: FulfillmentInput, preview: VerifiedPreview): string =>
  `${input.shop_id}/${input.order_line_id}/${preview.sha256}.${IMAGE_EXTENSIONS[preview.content_type]}`;

/**
 * Copies the verified preview into the print bucket and records it as the line's final asset,
 * answering it with the time the line's row changed (see `LineRecorded`).
 *
 * A database outage waits here rather than failing the attempt: the activity's attempts are
 * counted for storage, and a line must not fail as `asset_inaccessible` because Postgres was away.
 */
export async function persistFinalAsset(
  db: Db,
  storage: ObjectStorage,
  printBucket: string,
  input: FulfillmentInput,
  preview: VerifiedPreview,
  stream: StreamOptions,
  databaseWait: DatabaseWait = {},
): Promise<FinalAsset & LineRecorded> {
  const existing = await whileDatabaseUnavailable(() => findFinalAsset(db, input), databaseWait);
  if (existing) return flat(existing);

  const target = { bucket: printBucket, path: finalAssetPath(input, preview) };
  const copied = await storage.copy(preview, target, { sha256: preview.sha256, content_type: preview.content_type }, stream);
  const recorded = await whileDatabaseUnavailable(
    () =>
      recordFinalAsset(db, input, {
        ...target,
        sha256: copied.sha256,
        size_bytes: copied.size_bytes,
        content_type: preview.content_type,
        width: preview.width,
        height: preview.height,
        source_bucket: preview.bucket,
        source_path: preview.path,
        job_id: preview.job_id,
      }),
    databaseWait,
  );
  assetBytesTotal.inc({ step: 'copied' }, copied.size_bytes);
  linesTotal.inc({ status: 'persisted' });
  lineDurationSeconds.observe((Date.now() - Date.parse(input.received_at)) / 1000);
  return flat(recorded);
}

const flat = ({ asset, line_updated_at }: RecordedAsset): FinalAsset & LineRecorded => ({ ...asset, line_updated_at });
