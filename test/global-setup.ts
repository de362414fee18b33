import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TestProject } from 'vitest/node';
import { resolveTemporalCli } from '../src/temporal/cli.js';
import { bundleWorkflows } from '../src/worker/bundle-workflows.js';
import { SEARCH_ATTRIBUTES } from '../src/workflows/search-attributes.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    workflowBundlePath: string;
  }
}

/** One real Temporal dev server and one workflow bundle for the whole run. */
export default async function setup(project: TestProject) {
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'printready-test-'));
  const [env, bundlePath] = await Promise.all([
    TestWorkflowEnvironment.createLocal({
      server: {
        executable: resolveTemporalCli(process.env.TEMPORAL_CLI_PATH),
        searchAttributes: SEARCH_ATTRIBUTES,
      },
    }),
    bundleWorkflows(path.join(workDir, 'workflow-bundle.js')),
  ]);
  project.provide('temporalAddress', env.address);
  project.provide('workflowBundlePath', bundlePath);
  return async () => {
    await env.teardown();
    await rm(workDir, { recursive: true, force: true });
  };
}
