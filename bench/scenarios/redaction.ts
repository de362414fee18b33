import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { recordRedaction } from '../../src/db/repositories/privacy.js';
import { redactionWorkflowId } from '../../src/domain/privacy.js';
import { startFulfillment } from '../../src/temporal/start-fulfillment.js';
import { startRedaction } from '../../src/temporal/start-redaction.js';
import type { RedactShopData } from '../../src/workflows/redact-shop-data.js';
import { bigId, PREVIEW_BUCKET, PRINT_BUCKET } from '../../test/support/fixtures.js';
import { seedPersistedLines } from '../../test/privacy/seed.js';
import { startStandaloneWorker } from '../lib/standalone-worker.js';

/**
 * A `customers/redact` of one order of many persisted lines, each with its `FulfillOrderLine`
 * execution (closed), its preview and its final asset on the local backend: the redaction's
 * wall time, its runs (continue-as-new) and the events of each run's history.
 *
 *   tsx bench/scenarios/redaction.ts [--lines=2000]
 *
 * Needs DATABASE_URL (Postgres) and the temporal CLI (TEMPORAL_CLI_PATH or PATH). Not part of `npm run bench`.
 */
const { values } = parseArgs({ options: { lines: { type: 'string', default: '2000' } } });
const count = Number(values.lines);
const shop = `bench-${randomBytes(4).toString('hex')}.myshopify.com`;

const { env, database, storageRoot, taskQueue, worker, close } = await startStandaloneWorker('redaction');
const { client } = env;
try {
  await worker.runUntil(async () => {
    const orderId = bigId();
    const lines = await seedPersistedLines(database.db, storageRoot, shop, orderId, count);
    // Each line gets its execution, as the real ones have: it finds its asset recorded and completes.
    for (let start = 0; start < lines.length; start += 100) {
      await Promise.all(
        lines.slice(start, start + 100).map(async (line) => {
          const input = {
            shop_id: shop,
            order_id: orderId,
            order_line_id: line.order_line_id,
            personalization_id: `pers-${line.order_line_id}`,
          };
          const { workflow_id } = await startFulfillment(
            client,
            { taskQueue, previewWaitSeconds: 30 },
            { ...input, webhook_id: 'bench', received_at: new Date().toISOString() },
          );
          await client.workflow.getHandle(workflow_id).result();
        }),
      );
    }
    const row = await recordRedaction(database.db, {
      shop_id: shop,
      kind: 'customer',
      request_key: 'bench',
      order_ids: [orderId],
      received_at: new Date(),
    });
    const began = performance.now();
    const cpuBefore = process.cpuUsage();
    await startRedaction(client, taskQueue, {
      redaction_id: row.redaction_id,
      shop_id: shop,
      kind: 'customer',
      preview_bucket: PREVIEW_BUCKET,
      print_bucket: PRINT_BUCKET,
    });
    const workflowId = redactionWorkflowId(shop, row.redaction_id);
    const counts = await client.workflow.getHandle<typeof RedactShopData>(workflowId).result();
    const seconds = (performance.now() - began) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const events: number[] = [];
    for await (const run of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
      events.push((await client.workflow.getHandle(workflowId, run.runId).fetchHistory()).events?.length ?? 0);
    }
    console.log(
      `redaction of ${count} lines: ${seconds.toFixed(1)} s (${(count / seconds).toFixed(0)} lines/s), ` +
        `worker process CPU ${((cpu.user + cpu.system) / 1000 / count).toFixed(2)} ms/line; ${events.length} runs ` +
        `(${events.length - 1} continue-as-new), history events per run ${events.join(', ')} (largest ${Math.max(...events)}); ` +
        `counts ${JSON.stringify(counts)}`,
    );
  });
} finally {
  await close();
}
