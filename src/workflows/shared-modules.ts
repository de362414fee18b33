import { z } from 'zod';

/**
 * Libraries evaluated once per workflow thread and shared by every workflow in it
 * (`bundlerOptions.preloadModules`), instead of once per workflow: evaluating zod for each
 * line's input check was a third of the worker's CPU per line. Only stateless libraries belong
 * here: the SDK freezes what is shared, and state kept in it would leak between workflows.
 * Imported as ESM, like the workflow code does, so the shared copy is the one it uses (a
 * plain `preloadModules: ['zod']` is `require`d and gets zod's CommonJS build instead).
 */
export { z };

// zod completes its global configuration when it builds its first schema (the default locale)
// and its first container (the memoizer): that has to happen here, before the SDK freezes it.
z.object({ key: z.string() });
