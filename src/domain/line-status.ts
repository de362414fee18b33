import { z } from 'zod';
import { lineIdentitySchema } from './line-identity.js';
import { reasonCodeSchema } from './reasons.js';

export const LINE_STATUSES = ['processing', 'waiting_for_preview', 'persisted', 'failed', 'cancelled', 'withheld', 'redacted'] as const;
export const lineStatusSchema = z.enum(LINE_STATUSES);
export type LineStatus = z.infer<typeof lineStatusSchema>;

/**
 * A line whose order was cancelled or which was refunded in full: `cancelled` before its asset
 * existed (none will be made), `withheld` after (kept, never handed out). Nothing reopens it.
 */
export const CLOSED_STATUSES = ['cancelled', 'withheld'] as const satisfies readonly LineStatus[];
export type ClosedStatus = (typeof CLOSED_STATUSES)[number];
export const isClosedStatus = (status: LineStatus): status is ClosedStatus => (CLOSED_STATUSES as readonly LineStatus[]).includes(status);

/** Statuses no later step of the line's workflow may overwrite (`redacted`: erased on a privacy request, for good). */
export const SETTLED_STATUSES = ['persisted', ...CLOSED_STATUSES, 'redacted'] as const satisfies readonly LineStatus[];

/** Why a line was closed: the contract's `ignored` reasons for a line that arrives closed (`redacted`: its order was erased first). */
export const closureReasonSchema = z.enum(['order_cancelled', 'line_refunded', 'redacted']);
export type ClosureReason = z.infer<typeof closureReasonSchema>;

/** Why a line's workflow was told to close: the order's closure, or an operator (the Temporal UI's default). */
export const closeReasonSchema = z.enum([...closureReasonSchema.options, 'operator']);
export type CloseReason = z.infer<typeof closeReasonSchema>;

/** The `close` signal's argument, `{ "reason": … }`; an operator may send it without one. */
export const closeRequestSchema = z.object({ reason: closeReasonSchema.default('operator') });
export type CloseRequest = z.input<typeof closeRequestSchema>;

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

/** A redacted line's status object: what is left of it once its data was erased on a privacy request. */
export const redactedLineViewSchema = lineIdentitySchema.pick({ shop_id: true, order_id: true, order_line_id: true }).extend({
  status: z.literal('redacted'),
  updated_at: z.string(),
});
export type RedactedLineView = z.infer<typeof redactedLineViewSchema>;

/** What the status route answers: the full status object, or a redacted line's remainder. */
export const lineViewSchema = z.union([lineStatusViewSchema, redactedLineViewSchema]);
export type LineView = LineStatusView | RedactedLineView;

/** What a line's status object shows anyone: all of it, or of a redacted line only what identifies it, its status and when it changed. */
export const publicLineView = (line: LineStatusView): LineView =>
  line.status === 'redacted'
    ? { shop_id: line.shop_id, order_id: line.order_id, order_line_id: line.order_line_id, status: 'redacted', updated_at: line.updated_at }
    : line;
