import { status as grpcStatus } from '@grpc/grpc-js';
import { Context } from '@temporalio/activity';
import { isGrpcServiceError, WorkflowNotFoundError } from '@temporalio/client';
import {
  completeRedaction,
  countObjectsDeleted,
  eraseLines,
  findRedaction,
  linesToErase,
  markOrdersRedacted,
  redactionCounts,
  type LineToErase,
  type RedactionRow,
} from '../db/repositories/privacy.js';
import { orderEventWorkflowId, readyForPrintEvent } from '../domain/order-events.js';
import type { RedactionCounts } from '../domain/privacy.js';
import type { ObjectRef } from '../storage/object-storage.js';
import { TELEMETRY_EVENTS } from '../telemetry/events.js';
import { linesTotal } from '../telemetry/metrics/metrics.js';
import { DELIVER_ORDER_EVENT } from '../workflows/deliver-order-event.js';
import type { ActivityDeps } from './deps.js';

/** Lines per page: each costs a terminate, a few removals and a delete of its executions, in bounded parallel. */
const LINES_PER_PAGE = 100;
/** Temporal and storage calls in flight at once within a page. */
const PARALLEL_CALLS = 16;
/** Listing pages (1,000 objects each) one `eraseShopFolder` removes before it hands back to the workflow. */
const FOLDER_PAGES_PER_CALL = 10;

/** Runs `fn` over `items`, at most `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(lanes);
}

const heartbeat = (details: Record<string, unknown>): void => {
  Context.current().heartbeat(details);
};

/** Values for a visibility query's `IN (…)`, each quoted. */
const quoted = (values: readonly string[]): string => values.map((value) => `'${value.replaceAll("'", "\\'")}'`).join(', ');

/** A Temporal answer that the execution is not there (already deleted, or never existed). */
const isNotFound = (error: unknown): boolean =>
  error instanceof WorkflowNotFoundError || (isGrpcServiceError(error) && error.code === grpcStatus.NOT_FOUND);

/** The activities of `RedactShopData`: each idempotent, each scoped by the redaction's shop. */
export function createRedactionActivities({ db, storage, telemetry, temporal, printBucket }: ActivityDeps) {
  const { client } = temporal;

  async function redaction(redactionId: string, shopId: string): Promise<RedactionRow> {
    const row = await findRedaction(db, shopId, redactionId);
    if (!row) throw new Error(`redaction ${redactionId} of ${shopId} is not recorded`);
    return row;
  }

  /** Removes the given objects, bucket by bucket; answers how many were there. */
  async function removeObjects(refs: readonly ObjectRef[]): Promise<number> {
    const byBucket = new Map<string, Set<string>>();
    for (const { bucket, path } of refs) byBucket.set(bucket, (byBucket.get(bucket) ?? new Set()).add(path));
    let removed = 0;
    for (const [bucket, paths] of byBucket) removed += await storage.removeMany(bucket, [...paths]);
    return removed;
  }

  /** Every object left in the lines' own folders of the print bucket (`<shop_id>/<order_line_id>/`). */
  async function removeLineFolders(shopId: string, lines: readonly LineToErase[]): Promise<number> {
    let removed = 0;
    await eachLimited(lines, PARALLEL_CALLS, async (line) => {
      for await (const paths of storage.list({ bucket: printBucket, folder: `${shopId}/${line.order_line_id}` })) {
        removed += await storage.removeMany(printBucket, paths);
      }
    });
    return removed;
  }

  /**
   * Stops the lines' workflows and deletes every run of them, and every delivery of their
   * orders' events to the print side, so no history holds the ids any more: Temporal terminates
   * a running execution it is asked to delete. The runs visibility
   * lists (continued-as-new runs included) and the current one as described (visibility may lag
   * behind it), each once, by run id.
   *
   * Terminated, not closed: a `close` signal would have each line record itself cancelled and
   * report it to PostHog with the very ids being erased, and wait for a copy in flight to finish
   * only for it to be deleted. The orders were marked redacted first, so a copy still running
   * when its workflow ends records nothing and removes what it wrote (see `persistFinalAsset`).
   */
  async function deleteExecutions(shopId: string, lines: readonly LineToErase[]): Promise<void> {
    const { namespace } = client.options;
    // Each run once, by its run id: the current one as Temporal describes it, and every one visibility lists.
    const runs = new Map<string, { workflowId: string; runId: string }>();
    const add = (workflowId: string, runId: string) => runs.set(`${workflowId}/${runId}`, { workflowId, runId });
    const orderIds = [...new Set(lines.map((line) => line.order_id))];
    // The orders' event deliveries to the print side hold their ids too; the ready event's id is known.
    const readyEvents = orderIds.map((order_id) => orderEventWorkflowId(readyForPrintEvent({ shop_id: shopId, order_id }).event_id));
    await eachLimited([...lines.map((line) => line.workflow_id), ...readyEvents], PARALLEL_CALLS, async (workflowId) => {
      try {
        add(workflowId, (await client.workflow.getHandle(workflowId).describe()).runId);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    });
    const listed = [
      `WorkflowId IN (${quoted(lines.map((line) => line.workflow_id))})`,
      `WorkflowType = '${DELIVER_ORDER_EVENT}' AND ShopId = ${quoted([shopId])} AND OrderId IN (${quoted(orderIds)})`,
    ];
    for (const query of listed) {
      for await (const execution of client.workflow.list({ query })) add(execution.workflowId, execution.runId);
    }
    await eachLimited([...runs.values()], PARALLEL_CALLS, async (workflowExecution) => {
      try {
        await client.workflowService.deleteWorkflowExecution({ namespace, workflowExecution });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    });
  }

  return {
    markOrdersRedacted: async (redactionId: string, shopId: string): Promise<number> =>
      markOrdersRedacted(db, await redaction(redactionId, shopId)),

    /**
     * The next page of lines after `after`: their workflows stopped and deleted, their objects
     * deleted, their records erased, then their folders swept again (for a copy that landed in
     * between). Answers the last line of the page (null: no lines left).
     */
    redactLinePage: async (redactionId: string, shopId: string, after: string | null): Promise<{ last: string | null; lines: number }> => {
      const row = await redaction(redactionId, shopId);
      const lines = await linesToErase(db, row, after, LINES_PER_PAGE);
      const last = lines.at(-1)?.order_line_id ?? null;
      if (last === null) return { last, lines: 0 };
      await deleteExecutions(shopId, lines);
      heartbeat({ after, step: 'stopped' });
      const refs = lines.flatMap((line) => [line.final_asset, line.preview].filter((ref) => ref !== null));
      let deleted = await removeObjects(refs);
      heartbeat({ after, step: 'objects deleted' });
      linesTotal.inc({ status: 'redacted' }, await eraseLines(db, row, lines));
      deleted += await removeLineFolders(shopId, lines);
      await countObjectsDeleted(db, redactionId, deleted);
      return { last, lines: lines.length };
    },

    /** Removes up to some thousands of objects under `<shop_id>/` in `bucket`; `more` while any may be left. */
    eraseShopFolder: async (redactionId: string, shopId: string, bucket: string): Promise<{ more: boolean }> => {
      let pages = 0;
      let deleted = 0;
      try {
        for await (const paths of storage.list({ bucket, folder: shopId })) {
          deleted += await storage.removeMany(bucket, paths);
          heartbeat({ bucket, deleted });
          if (++pages === FOLDER_PAGES_PER_CALL) return { more: true };
        }
        return { more: false };
      } finally {
        await countObjectsDeleted(db, redactionId, deleted);
      }
    },

    /** Marks the redaction completed and reports its counts once (the event's id is the redaction's). */
    completeRedaction: async (redactionId: string, shopId: string): Promise<RedactionCounts> => {
      const { row, completedNow } = await completeRedaction(db, await redaction(redactionId, shopId));
      const counts = redactionCounts(row);
      if (completedNow || Context.current().info.attempt > 1) {
        await telemetry.capture({
          name: TELEMETRY_EVENTS.redactionCompleted,
          idempotency_key: `${row.redaction_id}:completed`,
          properties: { shop_id: row.shop_id, kind: row.kind, ...counts },
        });
      }
      return counts;
    },
  };
}

export type RedactionActivities = ReturnType<typeof createRedactionActivities>;
