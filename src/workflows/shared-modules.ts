import { z } from 'zod';

/**
 * Libraries evaluated once per workflow thread and shared by every workflow in it
 * (`bundlerOptions.preloadModules`), instead of once per workflow: evaluating zod anew for each
 * line's input check cost the worker about 5 ms of CPU per line. Only stateless libraries belong
 * here: the SDK freezes what is shared, and state kept in it would leak between workflows.
 * Imported as ESM, like the workflow code does, so the shared copy is the one it uses (a
 * plain `preloadModules: ['zod']` asks for zod's CommonJS entry, which webpack drops).
 */
export { z };

// zod completes its shared state when it builds its first schema (the default locale) and its
// first object (the memoizer, whether it may compile parsers): that has to happen here, before
// the SDK freezes it.
z.object({ key: z.string() });
