import { z } from 'zod';

/**
 * The contract's failure reason codes, each with the guidance an operator or merchant reads
 * in the status route, the failure log and the Temporal UI.
 */
export const REASONS = {
  preview_not_found:
    'No preview job is recorded for this personalization_id. Check that the generator registered it (POST /v1/previews) for this shop, then retry the line.',
  preview_not_ready:
    'The preview was still rendering when the wait ran out. Make the generator finish or re-render it and post the job as ready, then retry the line.',
  preview_failed:
    'The generator reported that rendering failed. Re-render the personalization, post the job again as ready, then retry the line.',
  asset_missing:
    'The preview job points to an object that does not exist in storage. Restore or re-upload the file at the recorded bucket and path, then retry the line.',
  asset_inaccessible:
    "The preview could not be read or copied (permissions, a missing preview or print bucket, or storage unavailable). Fix the service key's access to the bucket, or create it, then retry the line.",
  asset_invalid:
    'The preview object is empty, not a PNG/JPEG/WebP image, not the declared type, or cut short (an interrupted upload). Replace it with a valid, complete image at the same path, then retry the line.',
  checksum_mismatch:
    'The copy in the print bucket does not match the preview it was made from. Check the storage for concurrent writes to the preview, then retry the line.',
  shop_mismatch:
    'The personalization_id belongs to another shop. The cart property may have been tampered with; confirm the right id with the buyer before any retry.',
} as const;

export type ReasonCode = keyof typeof REASONS;

export const REASON_CODES = Object.keys(REASONS) as [ReasonCode, ...ReasonCode[]];

export const reasonCodeSchema = z.enum(REASON_CODES);

export const isReasonCode = (value: unknown): value is ReasonCode => typeof value === 'string' && Object.hasOwn(REASONS, value);

export const recoveryGuidance = (code: ReasonCode): string => REASONS[code];
