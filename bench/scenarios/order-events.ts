import { parseArgs } from 'node:util';
import { startFulfillment } from '../../src/temporal/start-fulfillment.js';
import { givenReadyPreview, makePng, newLine, putLocal } from '../../test/support/fixtures.js';
import { OrderEventsReceiver } from '../../test/support/order-events-receiver.js';
import { startStandaloneWorker } from '../lib/standalone-worker.js';
import { percentile } from '../lib/stats.js';

/**
 * Order event delivery latency: orders of `--lines` personalized lines arrive at `--rate` orders
 * a second; for each, the time from its last line persisted (the line's row, committed) to the
 * print side's receiver holding its `order.ready_for_print`. p50 and p99 over `--orders` orders.
 *
 *   tsx bench/scenarios/order-events.ts [--orders=200] [--lines=2] [--rate=10]
 *
 * Needs DATABASE_URL (Postgres) and the temporal CLI (TEMPORAL_CLI_PATH or PATH).
 */
const { values } = parseArgs({
  options: { orders: { type: 'string', default: '200' }, lines: { type: 'string', default: '2' }, rate: { type: 'string', default: '10' } },
});
const orders = Number(values.orders);
const linesPerOrder = Number(values.lines);
const rate = Number(values.rate);

const receiver = await OrderEventsReceiver.start();
const { env, database, storageRoot, taskQueue, worker, close } = await startStandaloneWorker('order-events', {
  url: receiver.url,
  secret: 'order-events-bench-secret-0123456789abcdef',
  urlTtlSeconds: 604_800,
});
const { client } = env;
const running = worker.run();

try {
  const started: string[] = [];
  const begun = performance.now();
  for (let index = 0; index < orders; index++) {
    const order_id = newLine().order_id;
    const lines = Array.from({ length: linesPerOrder }, () => newLine({ shop_id: 'bench.myshopify.com', order_id }));
    for (const line of lines) await givenReadyPreview({ db: database.db, put: putLocal(storageRoot) }, line, makePng(32, 32));
    // Paced arrivals, so that what is measured is the delivery, not a backlog of starts.
    const due = begun + (index * 1000) / rate;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    await Promise.all(lines.map((line) => startFulfillment(client, { taskQueue, previewWaitSeconds: 60 }, line)));
    started.push(order_id);
  }
  const deadline = Date.now() + 120_000;
  while (receiver.accepted().length < orders && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));

  const persistedAt = new Map(
    (
      await database.db
        .selectFrom('order_lines')
        .select(['order_id', (eb) => eb.fn.max('updated_at').as('last')])
        .groupBy('order_id')
        .execute()
    ).map((row) => [row.order_id, new Date(row.last).getTime()]),
  );
  const latencies = receiver
    .accepted((event) => event.body.type === 'order.ready_for_print')
    .map((event) => event.at - (persistedAt.get(event.body.order_id) ?? Number.NaN));
  console.log(
    `${latencies.length}/${started.length} orders of ${linesPerOrder} lines at ${rate}/s: last line persisted → receiver has order.ready_for_print ` +
      `p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms, max ${Math.max(...latencies).toFixed(0)} ms; ` +
      `${receiver.received.length} POSTs received`,
  );
} finally {
  worker.shutdown();
  await running;
  await receiver.close();
  await close();
}
