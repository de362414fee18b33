import { setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { FulfillmentInput } from '../domain/fulfillment-input.js';
import type { FinalAsset, LineStatusView } from '../domain/line-status.js';
import { recoveryGuidance, type ReasonCode } from '../domain/reasons.js';
import { FulfillmentStatus, lineSearchAttributes } from './search-attributes.js';

export interface LineFailure {
  reason_code: ReasonCode;
  message: string;
  details: Record<string, unknown>;
}

/**
 * The line's status as the workflow knows it: answers the `status` query and keeps the
 * `FulfillmentStatus` search attribute and the UI's current details in step.
 */
export class LineState {
  private current: LineStatusView;

  constructor(input: FulfillmentInput) {
    this.current = {
      shop_id: input.shop_id,
      order_id: input.order_id,
      order_line_id: input.order_line_id,
      personalization_id: input.personalization_id,
      workflow_id: workflowInfo().workflowId,
      status: 'processing',
      reason_code: null,
      reason_message: null,
      recovery_guidance: null,
      final_asset: null,
      updated_at: new Date().toISOString(),
    };
    upsertSearchAttributes(lineSearchAttributes(input, 'processing'));
    setCurrentDetails('Fulfilling: resolving the preview.');
  }

  get view(): LineStatusView {
    return this.current;
  }

  processing(): void {
    this.update({ status: 'processing' }, 'Fulfilling: resolving, verifying and copying the preview.');
  }

  waitingForPreview(jobId: string, until: Date): void {
    this.update(
      { status: 'waiting_for_preview' },
      `Waiting for preview job ${jobId} to finish rendering, until ${until.toISOString()}.`,
    );
  }

  persisted(asset: FinalAsset): void {
    this.update(
      { status: 'persisted', final_asset: asset },
      `Persisted ${asset.bucket}/${asset.path} (${asset.width}×${asset.height}, sha256 ${asset.sha256}).`,
    );
  }

  failed(failure: LineFailure, retryUntil: Date): void {
    this.update(
      {
        status: 'failed',
        reason_code: failure.reason_code,
        reason_message: failure.message,
        recovery_guidance: recoveryGuidance(failure.reason_code),
      },
      `Failed: ${failure.reason_code}: ${failure.message}\n\n${recoveryGuidance(failure.reason_code)}\n\n` +
        `Send the \`retry\` signal (or POST …/retry) after fixing it, until ${retryUntil.toISOString()}.`,
    );
  }

  private update(change: Partial<LineStatusView> & Pick<LineStatusView, 'status'>, details: string): void {
    const working = change.status === 'processing' || change.status === 'waiting_for_preview';
    this.current = {
      ...this.current,
      ...(working ? { reason_code: null, reason_message: null, recovery_guidance: null } : {}),
      ...change,
      updated_at: new Date().toISOString(),
    };
    upsertSearchAttributes([{ key: FulfillmentStatus, value: change.status }]);
    setCurrentDetails(details);
  }
}
