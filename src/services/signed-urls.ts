import { z } from 'zod';
import type { LineKey } from '../domain/ids.js';
import type { FinalAsset } from '../domain/line-status.js';
import { IMAGE_EXTENSIONS } from '../domain/images.js';
import { SIGNED_URL_TTL_BOUNDS } from '../domain/signed-url.js';
import type { RequestLog } from '../logging/request-log.js';
import type { ObjectStorage, SignedUrl } from '../storage/object-storage.js';
import { StorageError } from '../storage/storage-error.js';
import type { ServiceDeps } from './deps.js';
import { ERRORS } from './errors.js';
import { lineView } from './order-lines.js';
import type { Principal } from './principal.js';

/** What a caller may ask of a signed URL (`null` or no body: the defaults). */
export const signedUrlRequestSchema = z
  .object({
    expires_in: z
      .number()
      .int()
      .min(SIGNED_URL_TTL_BOUNDS.min)
      .max(SIGNED_URL_TTL_BOUNDS.max)
      .optional()
      .describe('Seconds the URL works; default SIGNED_URL_TTL_SECONDS'),
    download: z.boolean().optional().describe('Serve as an attachment named <order_line_id>.<ext>'),
  })
  .strict()
  .nullable();
type SignedUrlOptions = NonNullable<z.infer<typeof signedUrlRequestSchema>>;

export const signedUrlResponseSchema = z.object({
  url: z.string(),
  expires_at: z.string(),
  sha256: z.string(),
  size_bytes: z.number().int(),
  content_type: z.string(),
});

/** Where signing reports a storage failure: a request's logger, or an activity's. */
export interface ErrorLogger {
  error(obj: object, msg: string): void;
}

/**
 * Signs one final asset: the one piece of code behind every signed URL printready hands out (the
 * line's route, the order's batch and the order events). A download is named `<order_line_id>.<ext>`.
 */
export async function signFinalAsset(
  storage: ObjectStorage,
  orderLineId: string,
  asset: FinalAsset,
  options: { expiresInSeconds: number; download: boolean },
  logger: ErrorLogger,
): Promise<SignedUrl> {
  const download = options.download
    ? `${orderLineId}.${(IMAGE_EXTENSIONS as Partial<Record<string, string>>)[asset.content_type] ?? 'bin'}`
    : undefined;
  try {
    return await storage.signedUrl(
      { bucket: asset.bucket, path: asset.path },
      { expiresInSeconds: options.expiresInSeconds, ...(download ? { download } : {}) },
    );
  } catch (error) {
    if (!(error instanceof StorageError)) throw error;
    logger.error({ err: error, kind: error.kind, order_line_id: orderLineId }, 'could not sign the final asset');
    // The row says persisted, so a missing object is an operator's to restore, not the caller's 404.
    throw error.kind === 'not_found' ? ERRORS.assetMissing() : ERRORS.storageUnavailable();
  }
}

/** A time-limited URL of the line's final asset, issued only for a persisted line. */
export async function issueFinalAssetUrl(
  deps: ServiceDeps,
  principal: Principal,
  key: LineKey,
  options: SignedUrlOptions,
  log: RequestLog,
): Promise<z.infer<typeof signedUrlResponseSchema>> {
  const line = await lineView(deps.db, principal, key, log);
  if (line.status === 'redacted') throw ERRORS.lineRedacted();
  if (line.status === 'failed') throw ERRORS.fulfillmentFailed(line);
  if (line.status === 'cancelled') throw ERRORS.lineCancelled();
  if (line.status === 'withheld') throw ERRORS.lineWithheld();
  const asset = line.final_asset;
  if (line.status !== 'persisted' || !asset) throw ERRORS.assetNotReady(line.status);
  const signed = await signFinalAsset(
    deps.storage,
    line.order_line_id,
    asset,
    {
      expiresInSeconds: options.expires_in ?? deps.config.SIGNED_URL_TTL_SECONDS,
      download: options.download ?? false,
    },
    log.logger,
  );
  log.logger.info({ expires_at: signed.expires_at, download: Boolean(options.download) }, 'signed URL issued');
  return {
    url: signed.url,
    expires_at: signed.expires_at,
    sha256: asset.sha256,
    size_bytes: asset.size_bytes,
    content_type: asset.content_type,
  };
}
