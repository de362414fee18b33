import { bundleWorkflows } from './bundle-workflows.js';
import { PREBUILT_BUNDLE } from './start-worker.js';

/** `npm run build`'s last step: the workflow bundle production workers load. */
console.log(`workflow bundle: ${await bundleWorkflows(PREBUILT_BUNDLE)}`);
