import type { Db } from '../db/connect.js';
import { FulfillmentError } from '../domain/errors.js';
import { whileDatabaseUnavailable, type DatabaseWait } from '../db/while-unavailable.js';
import {
  findFinalAsset,
  LineRedactedError,
  persistFinalAsset as recordFinalAsset,
  type RecordedAsset,
} from '../db/repositories/final-assets.js';
import type { FulfillmentInput } from '../domain/fulfillment-input.js';
import type { FinalAsset } from '../domain/line-status.js';
import { IMAGE_EXTENSIONS } from '../domain/images.js';
import type { ObjectStorage, StreamOptions } from '../storage/object-storage.js';
import { assetBytesTotal, lineDurationSeconds, linesTotal } from '../telemetry/metrics/metrics.js';
import type { LineRecorded, PreviewRef, VerifiedPreview } from './types.js';
import { verifyPreview } from './verify-preview.js';

/**
 * Where a line's asset lives in the print bucket: its own folder, named by its content, so a URL
 * is unique per asset (suppliers cache by URL) and a repeated copy lands on the identical object.
 */
const finalAssetFolder = (input: FulfillmentInput): string => `${input.shop_id}/${input.order_line_id}`;
const finalAssetName = (preview: VerifiedPreview): string => `${preview.sha256}.${IMAGE_EXTENSIONS[preview.content_type]}`;

/**
 * Verifies the preview and copies it into the print bucket in one pass over its bytes, then
 * records it as the line's final asset, answering it with the time the line's row changed (see
 * `LineRecorded`). A line whose asset is recorded already reads nothing; `firstAttempt` skips
 * that look, one round trip a line: the line's start has just found no asset (and if one was
 * recorded all the same, the recording is idempotent and answers it).
 *
 * A database outage waits here rather than failing the attempt: the activity's attempts are
 * counted for storage, and a line must not fail as `asset_inaccessible` because Postgres was away.
 */
export async function persistFinalAsset(
  db: Db,
  storage: ObjectStorage,
  printBucket: string,
  input: FulfillmentInput,
  preview: PreviewRef,
  stream: StreamOptions,
  databaseWait: DatabaseWait = {},
  firstAttempt = false,
): Promise<FinalAsset & LineRecorded & Pick<RecordedAsset, 'line_status'>> {
  const existing = firstAttempt ? undefined : await whileDatabaseUnavailable(() => findFinalAsset(db, input), databaseWait);
  if (existing) return flat(existing);

  // Storage's size and type need no read; an empty object is refused before any copy.
  const stat = await storage.stat(preview);
  if (stat.size_bytes === 0) throw new FulfillmentError('asset_invalid', `${preview.bucket}/${preview.path} is empty`, { size_bytes: 0 });
  const {
    to,
    placement: { asset },
  } = await storage.copyVerified(
    preview,
    { bucket: printBucket, folder: finalAssetFolder(input) },
    (inspection) => {
      const asset = verifyPreview(preview, stat, inspection);
      assetBytesTotal.inc({ step: 'verified' }, asset.size_bytes);
      return { name: finalAssetName(asset), content_type: asset.content_type, asset };
    },
    stream,
  );
  const recorded = await whileDatabaseUnavailable(
    () =>
      recordFinalAsset(db, input, {
        ...to,
        sha256: asset.sha256,
        size_bytes: asset.size_bytes,
        content_type: asset.content_type,
        width: asset.width,
        height: asset.height,
        source_bucket: preview.bucket,
        source_path: preview.path,
        job_id: preview.job_id,
      }),
    databaseWait,
  ).catch(async (error: unknown) => {
    // Its workflow was stopped by a redaction that has already erased the line: the copy goes too.
    if (error instanceof LineRedactedError) await storage.remove(to);
    throw error;
  });
  assetBytesTotal.inc({ step: 'copied' }, asset.size_bytes);
  linesTotal.inc({ status: recorded.line_status });
  // Received → persisted: a line withheld on the way is no fulfillment to time.
  if (recorded.line_status === 'persisted') lineDurationSeconds.observe((Date.now() - Date.parse(input.received_at)) / 1000);
  return flat(recorded);
}

const flat = ({ asset, line_updated_at, line_status }: RecordedAsset) => ({ ...asset, line_updated_at, line_status });
