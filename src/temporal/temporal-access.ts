import type { Client } from '@temporalio/client';

/** How the API, the intake and the worker's activities reach Temporal: a client and the task queue work runs on. */
export interface TemporalAccess {
  client: Client;
  taskQueue: string;
}
