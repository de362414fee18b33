import { z } from 'zod';
import { lineIdentitySchema } from './line-identity.js';
import { reasonCodeSchema } from './reasons.js';

export const LINE_STATUSES = ['processing', 'waiting_for_preview', 'persisted', 'failed'] as const;
export const lineStatusSchema = z.enum(LINE_STATUSES);
export type LineStatus = z.infer<typeof lineStatusSchema>;

export const finalAssetSchema = z.object({
  bucket: z.string(),
  path: z.string(),
  sha256: z.string(),
  size_bytes: z.number().int(),
  content_type: z.string(),
  width: z.number().int(),
  height: z.number().int(),
});
export type FinalAsset = z.infer<typeof finalAssetSchema>;

/** The status object shared by the workflow's `status` query and the HTTP status route. */
export const lineStatusViewSchema = lineIdentitySchema.extend({
  workflow_id: z.string(),
  status: lineStatusSchema,
  reason_code: reasonCodeSchema.nullable(),
  reason_message: z.string().nullable(),
  recovery_guidance: z.string().nullable(),
  final_asset: finalAssetSchema.nullable(),
  updated_at: z.string(),
});
export type LineStatusView = z.infer<typeof lineStatusViewSchema>;
