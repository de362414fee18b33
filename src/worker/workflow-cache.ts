import os from 'node:os';

/**
 * What one cached FulfillOrderLine costs the worker's RSS, measured by
 * `bench/scenarios/waiting-lines.ts` (bench/README.md): 2,000 waiting lines held 306, 355, 480
 * and 564 MiB with 10, 25, 51 and 128 cached. RSS keeps the V8 heap's high-water mark, which
 * grows 3 to 5 MiB per cached workflow in the range that fits 400 MiB: the larger figure.
 */
export const BYTES_PER_CACHED_WORKFLOW = 5 * 1024 * 1024;

/** The share of the worker's memory the workflow cache may take; the rest is Node, the SDK and activities' streams. */
const CACHE_SHARE = 0.25;

/** The memory the worker is given: its cgroup limit (a container's), or the machine's. */
export function workerMemoryBytes(): number {
  const total = os.totalmem();
  // 0 or a number past the machine's memory when no limit is set.
  const limit = process.constrainedMemory();
  return limit > 0 && limit < total ? limit : total;
}

/**
 * The SDK's default cache holds every workflow it can fit in the V8 heap, which with thousands
 * of lines waiting for previews grows the worker to gigabytes. A quarter of the memory it is
 * given, at the measured cost per workflow (a 512 MiB container: 25), at least 10: a workflow
 * not cached is replayed from its history when it wakes, which costs time, not correctness.
 */
export function defaultMaxCachedWorkflows(memoryBytes = workerMemoryBytes()): number {
  return Math.max(10, Math.floor((memoryBytes * CACHE_SHARE) / BYTES_PER_CACHED_WORKFLOW));
}
