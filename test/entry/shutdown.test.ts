import { describe, expect, it } from 'vitest';
import { runScript } from '../support/child-processes.js';

/**
 * Runs a process that installs `exitOnSignal` with one step, then does `then` (send itself a
 * signal, or stop for a failure of its own). Resolves with its exit code and output.
 */
async function processStopping(step: string, then: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runScript(`
    const { exitOnSignal } = await import('./src/entry/shutdown.ts');
    const { createLogger } = await import('./src/logging/logger.ts');
    const logger = createLogger({ level: 'info', name: 'shutdown-test' });
    setInterval(() => {}, 1000);
    const shutdown = exitOnSignal(logger, 500, [${step}]);
    setTimeout(() => { ${then} }, 50);`);
}

const ranStep = "async () => process.stderr.write('step ran\\\\n')";

describe('exitOnSignal', () => {
  it('runs the steps on SIGTERM and exits 0', async () => {
    const { code, stdout, stderr } = await processStopping(ranStep, "process.kill(process.pid, 'SIGTERM')");
    expect(stderr).toContain('step ran');
    expect(stdout).toContain('"reason":"SIGTERM"');
    expect(code, stderr).toBe(0);
  });

  it('runs the same steps for a failure of its own, and exits 1', async () => {
    const { code, stdout, stderr } = await processStopping(ranStep, "shutdown('worker failed', true)");
    expect(stderr).toContain('step ran');
    expect(stdout).toContain('"reason":"worker failed"');
    expect(code, stderr).toBe(1);
  });

  it('exits 1 when a step outlasts the grace time', async () => {
    const { code, stdout } = await processStopping('() => new Promise(() => {})', "process.kill(process.pid, 'SIGINT')");
    expect(stdout).toContain('shutdown did not finish in time');
    expect(code).toBe(1);
  });
});
