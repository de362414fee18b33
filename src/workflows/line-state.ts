import { setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { LineFailure } from '../domain/errors.js';
import type { LineIdentity } from '../domain/line-identity.js';
import type { ClosedStatus, FinalAsset, LineStatusView } from '../domain/line-status.js';
import { recoveryGuidance } from '../domain/reasons.js';
import { codeSpan } from './markdown.js';
import { FulfillmentStatus, lineSearchAttributes } from './search-attributes.js';

/** An activity's `line_updated_at`: when its write changed the line's row, null when it left the row alone. */
export type RecordedAt = string | null;

/**
 * The line's status as the workflow knows it: answers the `status` query and keeps the
 * `FulfillmentStatus` search attribute and the UI's current details in step. Each change
 * carries the time the database recorded it (`recordedAt`): the contract has the query answer
 * the same status object as the HTTP route, `updated_at` included, so a client polling either
 * sees one line. The workflow's clock stands in where the database left the row alone.
 */
export class LineState {
  private current: LineStatusView;

  constructor(input: LineIdentity) {
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
    // Set at start, or kept across continue-as-new: only a run started by other means lacks them.
    const attributes = lineSearchAttributes(input, 'processing');
    const current = workflowInfo().typedSearchAttributes;
    if (attributes.some(({ key, value }) => current.get(key) !== value)) upsertSearchAttributes(attributes);
    setCurrentDetails('Fulfilling: resolving the preview.');
  }

  get view(): LineStatusView {
    return this.current;
  }

  /** The database's time of the status the line already has (its row opened for work). */
  recorded(recordedAt: RecordedAt): void {
    this.current = { ...this.current, updated_at: recordedAt ?? this.current.updated_at };
  }

  processing(recordedAt: RecordedAt): void {
    this.update({ status: 'processing' }, recordedAt, 'Fulfilling: resolving, verifying and copying the preview.');
  }

  waitingForPreview(jobId: string, until: Date, recordedAt: RecordedAt): void {
    this.update(
      { status: 'waiting_for_preview' },
      recordedAt,
      `Waiting for preview job ${codeSpan(jobId)} to finish rendering, until ${until.toISOString()}.`,
    );
  }

  persisted(asset: FinalAsset, recordedAt: RecordedAt): void {
    this.update(
      { status: 'persisted', final_asset: asset },
      recordedAt,
      `Persisted ${codeSpan(`${asset.bucket}/${asset.path}`)} (${asset.width}×${asset.height}, sha256 ${asset.sha256}).`,
    );
  }

  /** The line was closed (its order cancelled, the line refunded, or by an operator): it ends here. */
  closed(status: ClosedStatus, asset: FinalAsset | null, recordedAt: RecordedAt): void {
    this.update(
      { status, reason_code: null, reason_message: null, recovery_guidance: null, final_asset: status === 'withheld' ? asset : null },
      recordedAt,
      status === 'withheld'
        ? 'Withheld: the order was cancelled or the line refunded after its asset was made; no signed URL is issued for it.'
        : 'Cancelled: the order was cancelled or the line refunded before an asset was made; none will be.',
    );
  }

  /** The line's order was erased on a privacy request before it started: nothing of it is kept. */
  redacted(recordedAt: RecordedAt): void {
    this.update(
      { status: 'redacted', personalization_id: '', reason_code: null, reason_message: null, recovery_guidance: null, final_asset: null },
      recordedAt,
      'Redacted: its order was erased on a privacy request before the line started; nothing was made.',
    );
  }

  failed(failure: LineFailure, retryUntil: Date, recordedAt: RecordedAt): void {
    this.update(
      {
        status: 'failed',
        reason_code: failure.reason_code,
        reason_message: failure.message,
        recovery_guidance: recoveryGuidance(failure.reason_code),
      },
      recordedAt,
      // The message quotes buyer-supplied ids: shown as code, never as Markdown.
      `Failed: ${failure.reason_code}: ${codeSpan(failure.message)}\n\n${recoveryGuidance(failure.reason_code)}\n\n` +
        `Send the \`retry\` signal (or POST …/retry) after fixing it, until ${retryUntil.toISOString()}.`,
    );
  }

  private update(change: Partial<LineStatusView> & Pick<LineStatusView, 'status'>, recordedAt: RecordedAt, details: string): void {
    const working = change.status === 'processing' || change.status === 'waiting_for_preview';
    this.current = {
      ...this.current,
      ...(working ? { reason_code: null, reason_message: null, recovery_guidance: null } : {}),
      ...change,
      updated_at: recordedAt ?? new Date().toISOString(),
    };
    upsertSearchAttributes([{ key: FulfillmentStatus, value: change.status }]);
    setCurrentDetails(details);
  }
}
