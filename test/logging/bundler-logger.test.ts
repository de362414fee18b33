import type { Logger, LogLevel } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { oneLineBundlerLogger } from '../../src/logging/bundler-logger.js';

/** A Temporal logger that keeps what it is given. */
function recordingLogger(): Logger & { lines: [LogLevel, string][] } {
  const lines: [LogLevel, string][] = [];
  const at = (level: LogLevel) => (message: string) => {
    lines.push([level, message]);
  };
  return {
    lines,
    log: (level, message) => {
      lines.push([level, message]);
    },
    trace: at('TRACE'),
    debug: at('DEBUG'),
    info: at('INFO'),
    warn: at('WARN'),
    error: at('ERROR'),
  };
}

describe("the bundler's logger", () => {
  it("turns webpack's multi-line build report into its last line", () => {
    const base = recordingLogger();
    const report =
      'asset workflow-bundle-1a2b.js 1.2 MiB [emitted]\n  modules by path ./src/ 120 KiB\n\nwebpack 5.99.9 compiled successfully in 912 ms\n';
    oneLineBundlerLogger(base).info(report);
    expect(base.lines).toEqual([['INFO', 'workflow bundle: webpack 5.99.9 compiled successfully in 912 ms']]);
  });

  it('passes one-line messages and warnings through as they are', () => {
    const base = recordingLogger();
    const logger = oneLineBundlerLogger(base);
    logger.info('Workflow bundle created');
    logger.warn('a warning\nwith its detail');
    expect(base.lines).toEqual([
      ['INFO', 'Workflow bundle created'],
      ['WARN', 'a warning\nwith its detail'],
    ]);
  });
});
