import type { Db } from '../db/connect.js';
import { lookupPreviewJob } from '../db/repositories/preview-jobs.js';
import { FulfillmentError } from '../domain/errors.js';
import { personalizationIdSchema } from '../domain/ids.js';
import type { FulfillmentInput } from '../domain/fulfillment-input.js';
import { IMAGE_TYPES, type ImageContentType } from '../domain/images.js';
import type { PreviewResolution } from './types.js';

const asImageType = (value: string | null): ImageContentType | null => IMAGE_TYPES.find((type) => type === value) ?? null;

/** personalization_id → the stored preview of this shop, or why there is none (yet). */
export async function resolvePreview(db: Db, input: FulfillmentInput): Promise<PreviewResolution> {
  if (!personalizationIdSchema.safeParse(input.personalization_id).success) {
    throw new FulfillmentError(
      'preview_not_found',
      `the line's personalization_id ${JSON.stringify(input.personalization_id)} cannot name a preview job ` +
        '(the cart must carry one id of 1 to 200 printable characters): no preview can be registered for it, ' +
        'so a retry fails the same way; fulfil this line by hand',
    );
  }
  const lookup = await lookupPreviewJob(db, input.shop_id, input.personalization_id);
  if (lookup.kind === 'other_shop') {
    throw new FulfillmentError('shop_mismatch', `personalization ${input.personalization_id} belongs to another shop`);
  }
  if (lookup.kind === 'none') {
    throw new FulfillmentError('preview_not_found', `no preview job is recorded for personalization ${input.personalization_id}`);
  }
  const { job } = lookup;
  switch (job.status) {
    case 'failed':
      throw new FulfillmentError('preview_failed', `the generator reported job ${job.job_id} as failed`, { job_id: job.job_id });
    case 'rendering':
      return { state: 'rendering', job_id: job.job_id };
    case 'ready':
      // The table's check constraint guarantees bucket and path on a ready job.
      return {
        state: 'ready',
        preview: { job_id: job.job_id, bucket: job.bucket ?? '', path: job.path ?? '', content_type: asImageType(job.content_type) },
      };
  }
}
