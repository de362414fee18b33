/**
 * What a test file's setup acquired, released latest first by `afterAll(() => teardown.run())`.
 * Only what was acquired is released, so a setup that fails halfway still cleans up, and each
 * resource keeps its own type instead of `T | undefined` for the sake of its teardown.
 */
export class Teardown {
  readonly #steps: (() => unknown)[] = [];

  /** Registers a release step; returns nothing, so it reads as its own line after the acquisition. */
  defer(step: () => unknown): void {
    this.#steps.push(step);
  }

  /** Runs every step, even after one fails, then throws the first failure. */
  async run(): Promise<void> {
    const failures: unknown[] = [];
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length > 0) throw failures[0];
  }
}
