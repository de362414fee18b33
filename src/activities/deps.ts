import type { Db } from '../db/connect.js';
import type { ObjectStorage } from '../storage/object-storage.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { TemporalAccess } from '../temporal/temporal-access.js';
import type { OrderEventsSettings } from './order-events.js';
import type { ReconcileSettings } from './reconcile.js';

/** What activities reach the world through; built once per worker. */
export interface ActivityDeps {
  db: Db;
  storage: ObjectStorage;
  telemetry: Telemetry;
  /** For activities that start, signal or delete workflows (order events, redaction, reconciliation). */
  temporal: TemporalAccess;
  printBucket: string;
  /** `ORDER_EVENTS_URL` and its secret; without it no order event is recorded or sent. */
  orderEvents?: OrderEventsSettings | undefined;
  /**
   * `PREVIEW_WAIT_SECONDS`: how long a line whose run was started without it waits for its
   * preview (one started by hand), and what a sweep starts lines with.
   */
  previewWaitSeconds: number;
  /** Reconciliation's Admin API tokens and settings; without them no shop is configured for it. */
  reconcile?: ReconcileSettings;
}
