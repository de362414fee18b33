import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { CloseRequest, LineStatusView } from '../domain/line-status.js';

export const FULFILL_ORDER_LINE = 'FulfillOrderLine';

/** The line's status object, the same as `GET /v1/shops/:shop_id/order-lines/:order_line_id`. */
export const statusQuery = defineQuery<LineStatusView>('status');

/** An operator fixed the cause of a failure: run the steps again. */
export const retrySignal = defineSignal('retry');

/** The generator posted the preview the line waits for: look again now, not at the next poll. */
export const previewReadySignal = defineSignal('preview_ready');

/**
 * The line's order was cancelled or the line refunded (or an operator closes it, e.g. from the
 * Temporal UI with `{"reason": "operator"}` or no argument): a waiting line ends `cancelled` at
 * once, a line in the middle of its copy finishes it and ends `withheld`.
 */
export const closeSignal = defineSignal<[CloseRequest?]>('close');

export const REDACT_SHOP_DATA = 'RedactShopData';
