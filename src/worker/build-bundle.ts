import { bundleWorkflows } from './bundle-workflows.js';
import { PREBUILT_BUNDLE, PREBUILT_TRACED_BUNDLE } from './start-worker.js';

/** `npm run build`'s last step: the workflow bundle production workers load. */
console.log(`workflow bundle: ${await bundleWorkflows(PREBUILT_BUNDLE)}`);
console.log(`workflow bundle with tracing: ${await bundleWorkflows(PREBUILT_TRACED_BUNDLE, true)}`);
