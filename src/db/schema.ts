import type { ColumnType, Insertable, Selectable } from 'kysely';
import type { LineStatus } from '../domain/line-status.js';
import type { OrderEventOutcome, OrderEventType } from '../domain/order-events.js';
import type { PreviewStatus } from '../domain/preview-job.js';
import type { ReasonCode } from '../domain/reasons.js';
import type { DataRequestReport, RedactionKind } from '../domain/privacy.js';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
/** int8 arrives as a string from `pg` and as a bigint from PGlite; repositories convert. */
type Int8 = ColumnType<string | bigint | number, number, number>;

/** The generator's hand-off: which stored preview a personalization_id stands for. */
export interface PreviewJobsTable {
  shop_id: string;
  personalization_id: string;
  job_id: string;
  status: PreviewStatus;
  bucket: string | null;
  path: string | null;
  content_type: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** One row per personalized order line: where its fulfillment stands. */
export interface OrderLinesTable {
  shop_id: string;
  order_line_id: string;
  order_id: string;
  personalization_id: string;
  workflow_id: string;
  status: LineStatus;
  reason_code: ReasonCode | null;
  reason_message: string | null;
  recovery_guidance: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** The line's final print-ready asset; `association_key` makes a second one impossible. */
export interface FinalAssetsTable {
  association_key: string;
  shop_id: string;
  order_line_id: string;
  bucket: string;
  path: string;
  sha256: string;
  size_bytes: Int8;
  content_type: string;
  width: number;
  height: number;
  source_bucket: string;
  source_path: string;
  job_id: string;
  created_at: CreatedAt;
}

/** Append-only: every failure a line went through, for support and audit. */
export interface FulfillmentFailuresTable {
  shop_id: string;
  failure_key: string;
  order_line_id: string;
  workflow_id: string;
  attempt: number;
  reason_code: ReasonCode;
  message: string;
  recovery_guidance: string;
  details: ColumnType<Record<string, unknown>, string, never>;
  created_at: CreatedAt;
}

/** The order around its lines: what a line's start and the order's closure lock against each other. */
export interface OrdersTable {
  shop_id: string;
  order_id: string;
  cancelled_at: Date | null;
  /** Set by a customers/redact or shop/redact naming the order: its lines never start again. */
  redacted_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** A refund's quantity of one line item, with the line item's quantity as the refund carried it. */
export interface OrderRefundsTable {
  shop_id: string;
  refund_id: string;
  order_line_id: string;
  order_id: string;
  quantity: number;
  line_quantity: number;
  created_at: CreatedAt;
}

/** A customers/data_request's report, as `GET …/data-requests/:id` answers it. */
export interface DataRequestsTable {
  shop_id: string;
  data_request_id: string;
  customer_id: string | null;
  received_at: Date;
  report: ColumnType<DataRequestReport, string, string>;
}

/** A customers/redact or shop/redact: its identity, its progress and what it erased. */
export interface RedactionsTable {
  redaction_id: string;
  shop_id: string;
  request_key: string;
  kind: RedactionKind;
  order_ids: ColumnType<string[], string, never>;
  status: 'running' | 'completed';
  orders_redacted: ColumnType<number, number | undefined, number>;
  lines_redacted: ColumnType<number, number | undefined, number>;
  objects_deleted: ColumnType<number, number | undefined, number>;
  received_at: Date;
  completed_at: Date | null;
}

/** An order event to the print side (ORDER_EVENTS_URL) and how its delivery ended. */
export interface OrderEventsTable {
  event_id: string;
  type: OrderEventType;
  shop_id: string;
  order_id: string;
  order_line_id: string | null;
  failure_key: string | null;
  created_at: CreatedAt;
  outcome: OrderEventOutcome | null;
  finished_at: Date | null;
}

/** Per shop, the greatest `updatedAt` its completed reconciliation sweeps have read. */
export interface ReconcileWatermarksTable {
  shop_id: string;
  updated_through: Date;
  reconcile_id: string;
  completed_at: UpdatedAt;
}

export interface Database {
  orders: OrdersTable;
  order_refunds: OrderRefundsTable;
  preview_jobs: PreviewJobsTable;
  order_lines: OrderLinesTable;
  final_assets: FinalAssetsTable;
  fulfillment_failures: FulfillmentFailuresTable;
  data_requests: DataRequestsTable;
  redactions: RedactionsTable;
  order_events: OrderEventsTable;
  reconcile_watermarks: ReconcileWatermarksTable;
}

export type PreviewJobRow = Selectable<PreviewJobsTable>;
export type OrderLineRow = Selectable<OrderLinesTable>;
export type NewOrderLine = Insertable<OrderLinesTable>;
export type FinalAssetRow = Selectable<FinalAssetsTable>;
export type FailureRow = Selectable<FulfillmentFailuresTable>;
