import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { LineStatusView } from '../domain/line-status.js';

export const FULFILL_ORDER_LINE = 'FulfillOrderLine';

/** The line's status object, the same as `GET /v1/shops/:shop_id/order-lines/:order_line_id`. */
export const statusQuery = defineQuery<LineStatusView>('status');

/** An operator fixed the cause of a failure: run the steps again. */
export const retrySignal = defineSignal('retry');

/** The generator posted the preview the line waits for: look again now, not at the next poll. */
export const previewReadySignal = defineSignal('preview_ready');
