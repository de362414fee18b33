import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowBundling } from './fulfillment-worker.js';

/** Builds the workflow bundle once, so production workers start without webpack; `traced` for OpenTelemetry. */
export async function bundleWorkflows(outputPath: string, traced = false): Promise<string> {
  const { code } = await bundleWorkflowCode({ ...workflowBundling(traced), logger: quietLogger });
  await mkdir(path.dirname(outputPath), { recursive: true });
  await writeFile(outputPath, code);
  return outputPath;
}

const ignore = () => undefined;
const quietLogger = { log: ignore, trace: ignore, debug: ignore, info: ignore, warn: console.warn, error: console.error };
