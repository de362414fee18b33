import { z } from 'zod';
import { imageContentTypeSchema } from './images.js';
import { isValidBucketName, isValidObjectPath } from './object-key.js';
import { opaqueIdSchema, personalizationIdSchema, shopIdSchema } from './ids.js';

export const PREVIEW_STATUSES = ['ready', 'rendering', 'failed'] as const;
export type PreviewStatus = (typeof PREVIEW_STATUSES)[number];

/** Storage keys every backend keeps as they are, and never a traversal (see object-key). */
export const objectPathSchema = z
  .string()
  .refine(isValidObjectPath, "must be a relative storage path of letters, digits and _/!.*'() &$=@;:+,- without empty, . or .. segments");

/** The names every storage backend here accepts: a generator's hand-off and the configured buckets. */
export const bucketSchema = z.string().refine(isValidBucketName, 'must be a bucket name: lower-case letters, digits, . _ -, up to 63');

/** An optional field that may also be sent as null (as the route answers it): absent either way. */
const optional = <T extends z.ZodType>(schema: T) =>
  schema
    .nullish()
    .transform((value) => value ?? undefined)
    .optional();

/** The generator's hand-off (`POST /v1/previews`). */
export const previewJobSchema = z
  .object({
    shop_id: shopIdSchema,
    personalization_id: personalizationIdSchema,
    job_id: opaqueIdSchema,
    status: z.enum(PREVIEW_STATUSES),
    bucket: optional(bucketSchema),
    path: optional(objectPathSchema),
    content_type: optional(imageContentTypeSchema),
  })
  .refine((job) => job.status !== 'ready' || job.path !== undefined, {
    path: ['path'],
    error: 'is required when status is ready',
  });
export type PreviewJobInput = z.infer<typeof previewJobSchema>;
