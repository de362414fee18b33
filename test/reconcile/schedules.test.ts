import { randomBytes } from 'node:crypto';
import { Client, Connection, ScheduleNotFoundError } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { afterAll, beforeAll, expect, it, inject } from 'vitest';
import { syncReconcileSchedules } from '../../src/temporal/schedules.js';
import { eventually } from '../support/eventually.js';
import { uniqueShop } from '../support/fixtures.js';
import { Teardown } from '../support/teardown.js';

// A namespace of the file's own: a worker started by another test file syncs the default
// namespace's schedules (and removes those of shops it is not configured with).
const namespace = `reconcile-schedules-${randomBytes(4).toString('hex')}`;
const taskQueue = 'fulfillment';
const [kept, dropped] = [uniqueShop('kept'), uniqueShop('dropped')];
let client: Client;

const teardown = new Teardown();
beforeAll(async () => {
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  teardown.defer(() => connection.close());
  await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
  client = new Client({ connection, namespace });
  // A new namespace is served once the frontend's namespace cache has it.
  await eventually(() => connection.workflowService.describeNamespace({ namespace }).then(() => true), 'the namespace', 30_000, 500);
});
afterAll(() => teardown.run());

const describe = (shop: string) => client.schedule.getHandle(`reconcile:${shop}`).describe();

/** The schedules' ids as the list (eventually consistent) shows them. */
const listed = async (): Promise<string[]> => {
  const ids: string[] = [];
  for await (const schedule of client.schedule.list()) ids.push(schedule.scheduleId);
  return ids.sort();
};

it('creates one schedule per configured shop: every interval, overlapping sweeps skipped, only the shop in its input', async () => {
  const synced = await eventually(
    () => syncReconcileSchedules(client, { taskQueue, shops: [kept, dropped], intervalMinutes: 15 }),
    'the first sync',
    30_000,
    500,
  );
  expect(synced.created.sort()).toEqual([`reconcile:${kept}`, `reconcile:${dropped}`].sort());

  const schedule = await describe(kept);
  expect(schedule.spec.intervals?.map(({ every }) => every)).toEqual([15 * 60_000]);
  expect(schedule.policies.overlap).toBe('SKIP');
  expect(schedule.action).toMatchObject({ type: 'startWorkflow', workflowType: 'ReconcileShop', taskQueue, args: [{ shop_id: kept }] });
  expect(JSON.stringify(schedule.action)).not.toMatch(/token|shpat_/i);
});

it('updates the schedules of shops still configured and removes the others at the next start', async () => {
  await eventually(async () => ((await listed()).length === 2 ? true : undefined), 'both schedules listed', 30_000, 500);
  const synced = await syncReconcileSchedules(client, { taskQueue, shops: [kept], intervalMinutes: 30 });
  expect(synced).toEqual({ created: [], updated: [`reconcile:${kept}`], removed: [`reconcile:${dropped}`] });
  expect((await describe(kept)).spec.intervals?.map(({ every }) => every)).toEqual([30 * 60_000]);
  await expect(describe(dropped)).rejects.toBeInstanceOf(ScheduleNotFoundError);
});

it('removes every reconciliation schedule when RECONCILE_INTERVAL_MINUTES is 0', async () => {
  await eventually(async () => ((await listed()).join() === `reconcile:${kept}` ? true : undefined), 'the list settled', 30_000, 500);
  const synced = await syncReconcileSchedules(client, { taskQueue, shops: [kept], intervalMinutes: 0 });
  expect(synced).toEqual({ created: [], updated: [], removed: [`reconcile:${kept}`] });
  await expect(describe(kept)).rejects.toBeInstanceOf(ScheduleNotFoundError);
});
