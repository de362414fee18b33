import { z } from 'zod';
import { opaqueIdSchema, shopIdSchema } from './ids.js';

export const PREVIEW_STATUSES = ['ready', 'rendering', 'failed'] as const;
export type PreviewStatus = (typeof PREVIEW_STATUSES)[number];

/** Storage keys as Supabase accepts them (no unicode, `#` or `%`), and never a traversal. */
export const objectPathSchema = z
  .string()
  .min(1)
  .max(1024)
  .regex(/^[A-Za-z0-9_/!.*'() &$=@;:+,?-]+$/, 'contains characters storage keys do not allow')
  .refine(
    (path) => !path.startsWith('/') && path.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..'),
    'must be a relative path without empty, . or .. segments',
  );

export const bucketSchema = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be a bucket name');

/** The generator's hand-off (`POST /v1/previews`). */
export const previewJobSchema = z
  .object({
    shop_id: shopIdSchema,
    personalization_id: opaqueIdSchema,
    job_id: opaqueIdSchema,
    status: z.enum(PREVIEW_STATUSES),
    bucket: bucketSchema.optional(),
    path: objectPathSchema.optional(),
    content_type: z.enum(['image/png', 'image/jpeg', 'image/webp']).optional(),
  })
  .refine((job) => job.status !== 'ready' || job.path !== undefined, {
    path: ['path'],
    message: 'is required when status is ready',
  });
export type PreviewJobInput = z.infer<typeof previewJobSchema>;
