import { z } from 'zod';

/**
 * Libraries evaluated once per workflow thread and shared by every workflow in it
 * (`bundlerOptions.preloadModules`), instead of once per workflow: evaluating zod anew for each
 * line's input check cost the worker 4–10 ms of CPU per line. Imported as ESM, like the
 * workflow code does, so the shared copy is the one it uses (a plain `preloadModules: ['zod']`
 * asks for zod's CommonJS entry, which webpack drops).
 *
 * The SDK freezes what is shared, so only stateless libraries belong here, and zod inside a
 * workflow is held to this:
 * - schemas check formats with their own regexes (as `src/domain/ids.ts` does): zod's built-in
 *   formats (`z.email()`, `z.uuid()`, `.lowercase()`, `z.iso.date()`, …) reset `lastIndex` on
 *   its shared, frozen RegExps and throw, which fails the workflow task until a fix is deployed;
 * - no `z.config()`, which writes zod's frozen global config, and no `.meta({ id })`, which
 *   would keep every workflow's schemas in one shared registry.
 * `test/workflows/replay.test.ts` fails at once if the input schema breaks the first rule.
 */
export { z };

// zod completes its shared state when it builds its first schema (the default locale) and its
// first object (the memoizer, whether it may compile parsers): that has to happen here, before
// the SDK freezes it.
z.object({ key: z.string() });
