import { z } from 'zod';
import { shopIdSchema } from './ids.js';
import { finalAssetSchema, lineStatusSchema } from './line-status.js';

/** `customers/redact` erases a customer's orders, `shop/redact` everything of a shop. */
export const redactionKindSchema = z.enum(['customer', 'shop']);
export type RedactionKind = z.infer<typeof redactionKindSchema>;

/** One order line as a data request reports it: what printready holds of it. */
const reportedLineSchema = z.object({
  order_line_id: z.string(),
  personalization_id: z.string(),
  status: lineStatusSchema,
  final_asset: finalAssetSchema.nullable(),
  preview: z.object({ bucket: z.string(), path: z.string() }).nullable(),
});

/** What a data request recorded: per order asked about, the lines printready holds. */
export const dataRequestReportSchema = z.object({
  orders: z.array(z.object({ order_id: z.string(), lines: z.array(reportedLineSchema) })),
});
export type DataRequestReport = z.infer<typeof dataRequestReportSchema>;

/** `GET /v1/shops/:shop_id/data-requests/:data_request_id`. */
export const dataRequestViewSchema = z.object({
  data_request_id: z.string(),
  shop_id: z.string(),
  customer_id: z.string().nullable(),
  received_at: z.string(),
  ...dataRequestReportSchema.shape,
});
export type DataRequestView = z.infer<typeof dataRequestViewSchema>;

/** What a redaction erased, counted once each (a rerun counts nothing twice). */
export const redactionCountsSchema = z.object({
  orders_redacted: z.number().int(),
  lines_redacted: z.number().int(),
  objects_deleted: z.number().int(),
});
export type RedactionCounts = z.infer<typeof redactionCountsSchema>;

/** `GET /v1/shops/:shop_id/redactions/:redaction_id`. */
export const redactionViewSchema = z.object({
  redaction_id: z.string(),
  kind: redactionKindSchema,
  status: z.enum(['running', 'completed']),
  ...redactionCountsSchema.shape,
  completed_at: z.string().nullable(),
});
export type RedactionView = z.infer<typeof redactionViewSchema>;

/** `RedactShopData`'s workflow id: one per redaction, so a redelivery starts nothing new. */
export const redactionWorkflowId = (shopId: string, redactionId: string): string => `${shopId}:${redactionId}:redaction`;

/**
 * `RedactShopData`'s input: which redaction (its orders are read from its row, not carried in
 * the history), and where a run that continued as new goes on from. The buckets are named
 * here because `shop/redact` empties the shop's folder in each.
 */
export const redactionInputSchema = z.object({
  redaction_id: z.string().regex(/^rd_[0-9a-f]{32}$/),
  shop_id: shopIdSchema,
  kind: redactionKindSchema,
  preview_bucket: z.string().min(1).max(100),
  print_bucket: z.string().min(1).max(100),
  /** The last line erased by an earlier run (continue-as-new); null or absent: from the first line. */
  after: z.string().nullable().optional(),
  /** Set once the earlier runs erased every line: what is left is the shop's folders and the completion. */
  lines_done: z.boolean().optional(),
});
export type RedactionInput = z.infer<typeof redactionInputSchema>;
