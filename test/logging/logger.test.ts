import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createApiLogger } from '../../src/api/plugins/logging.js';
import { createLogger } from '../../src/logging/logger.js';
import { runScript } from '../support/child-processes.js';
import { must } from '../support/must.js';

/** A captured log line, typed as far as the tests look into it. */
interface LogLine {
  req?: unknown;
  err?: { causes?: { message: string }[] };
  error?: unknown;
}
const parse = (line: string): LogLine => JSON.parse(line) as LogLine;

function capture() {
  const lines: string[] = [];
  return { lines, logger: createLogger({ level: 'info', name: 'test' }, { write: (line: string) => void lines.push(line) }) };
}

describe('log redaction', () => {
  it('censors secrets at the top of a line, in a logged error and one level below it', () => {
    const { lines, logger } = capture();
    const error = Object.assign(new Error('request failed'), {
      token: 'tok-1',
      options: { apiKey: 'key-2', headers: { authorization: 'Bearer tok-3' } },
      config: { DATABASE_URL: 'postgres://user:pw-4@db/x' },
    });
    logger.info({ secret: 'sec-5', LOCAL_SIGNING_SECRET: 'sign-6', err: error, order_id: '1001' }, 'something');
    // The Temporal SDK's own lines carry their error as `error`.
    logger.warn({ error: Object.assign(new Error('activity failed'), { cause: { signature: 'sig-10' } }) }, 'Activity failed');
    const line = must(lines[0], 'a log line');
    for (const secret of ['tok-1', 'key-2', 'pw-4', 'sec-5', 'sign-6']) expect(line).not.toContain(secret);
    expect(lines[1]).not.toContain('sig-10');
    expect(JSON.parse(line)).toMatchObject({
      order_id: '1001',
      secret: '[redacted]',
      err: { token: '[redacted]', options: { apiKey: '[redacted]' } },
    });
  });

  it('keeps them out of the API logger made from a given logger, and out of request URLs', () => {
    const { lines, logger } = capture();
    const api = createApiLogger('info', logger);
    api.info(
      {
        req: { method: 'GET', url: '/files/b/a.png?expires=1&signature=sig-7', headers: { authorization: 'Bearer tok-8' } },
        token: 'tok-9',
      },
      'request completed',
    );
    const line = lines.join('');
    for (const secret of ['sig-7', 'tok-8', 'tok-9']) expect(line).not.toContain(secret);
    expect(parse(line).req).toEqual({ method: 'GET', url: '/files/b/a.png?expires=1&signature=[redacted]' });
  });
});

describe('logged errors', () => {
  it('show type, message with causes, code and the failure type, and never a stack trace', () => {
    const { lines, logger } = capture();
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    logger.error({ err: Object.assign(new Error('storage unreachable', { cause: reset }), { code: 'E_STORAGE' }) }, 'failed');
    // A Temporal failure carries the remote side's stack in its `failure`, its cause's too.
    const failure = Object.assign(new Error('gone'), {
      type: 'asset_missing',
      failure: {
        message: 'gone',
        stackTrace: 'at resolve (/srv/a.js:1:2)',
        cause: { message: 'inner', stackTrace: 'at b (/srv/b.js:3:4)' },
      },
    });
    logger.warn({ error: failure }, 'Activity failed');
    const agg = new AggregateError([new Error('first'), new Error('second')], 'both failed');
    logger.error({ err: agg }, 'aggregate');

    for (const line of lines) {
      expect(line).not.toMatch(/\bat \S.*:\d+:\d+/);
      expect(line).not.toMatch(/"stack(Trace)?"/);
    }
    const [first, second, third] = lines.map(parse);
    expect(first?.err).toEqual({
      type: 'Error',
      message: 'storage unreachable: read ECONNRESET',
      code: 'E_STORAGE',
      causes: [{ type: 'Error', message: 'read ECONNRESET', code: 'ECONNRESET' }],
    });
    expect(second?.error).toMatchObject({
      type: 'Error',
      failure_type: 'asset_missing',
      message: 'gone',
      failure: { message: 'gone: inner' },
    });
    expect(third?.err).toMatchObject({ message: 'both failed', aggregateErrors: [{ message: 'first' }, { message: 'second' }] });
    // The logged error itself is left as it was.
    expect(failure.failure.stackTrace).toBe('at resolve (/srv/a.js:1:2)');
  });

  it('list the first five causes of a long chain, and each cause of a cycle once', () => {
    const { lines, logger } = capture();
    let chain = new Error('cause 8');
    for (let depth = 7; depth >= 1; depth--) chain = new Error(`cause ${depth}`, { cause: chain });
    logger.error({ err: new Error('top', { cause: chain }) }, 'long chain');
    const looped = new Error('looped');
    const partner = new Error('partner', { cause: looped });
    looped.cause = partner;
    logger.error({ err: looped }, 'cycle of causes');
    const [long, cycle] = lines.map((line) => parse(line).err?.causes?.map((cause) => cause.message));
    expect(long).toEqual(['cause 1', 'cause 2', 'cause 3', 'cause 4', 'cause 5']);
    expect(cycle).toEqual(['partner']);
  });

  it('show a cycle once, and an object met twice side by side both times', () => {
    const { lines, logger } = capture();
    const shared = { bucket: 'previews' };
    const request: Record<string, unknown> = { path: 'a.png' };
    request.self = request;
    logger.error({ err: Object.assign(new Error('copy failed'), { from: shared, to: shared, request }) }, 'cycle');
    expect(parse(must(lines[0], 'a log line')).err).toMatchObject({
      from: { bucket: 'previews' },
      to: { bucket: 'previews' },
      request: { path: 'a.png', self: '[Circular]' },
    });
  });
});

describe('logging to stdout', () => {
  // pino stops logging on EPIPE but lets any other write error end the process, whose exit hook
  // then retries the write forever: a full disk or a closed terminal would hang the service.
  it.skipIf(!existsSync('/dev/full'))('stops logging when stdout fails, and the process carries on', async () => {
    const script = `
      const { createLogger } = await import('./src/logging/logger.ts');
      const logger = createLogger({ level: 'info', name: 'stdout-full' });
      logger.info('one');
      setTimeout(() => {
        logger.info('two');
        process.stderr.write('still serving\\n');
        process.exitCode = 0;
      }, 300);`;
    const full = openSync('/dev/full', 'w');
    const run = runScript(script, { stdout: full, timeoutMs: 10_000 });
    closeSync(full);
    const { code, stderr } = await run;
    expect(stderr).toContain('still serving');
    expect(stderr).toMatch(/logging stopped: stdout failed \(ENOSPC\)/);
    expect(code, stderr).toBe(0);
  });

  // A reader that stops reading (a wedged log shipper) leaves a full pipe: pino's exit hook
  // would retry the write every 100 ms for as long as it stays full.
  it.skipIf(process.platform === 'win32')('exits within its flush deadline when the stdout reader has stalled', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'printready-stall-'));
    const fifo = path.join(dir, 'stdout');
    execFileSync('mkfifo', [fifo]);
    // Read-write, so opening does not wait for a reader; nothing ever reads it.
    const pipe = openSync(fifo, constants.O_RDWR);
    try {
      const script = `
        const { createLogger } = await import('./src/logging/logger.ts');
        const logger = createLogger({ level: 'info', name: 'stdout-stalled' });
        for (let i = 0; i < 5_000; i++) logger.info({ i, pad: 'x'.repeat(100) }, 'more than a pipe holds');
        setTimeout(() => process.exit(0), 300);`;
      const { code, stderr } = await runScript(script, { stdout: pipe, timeoutMs: 15_000 });
      expect(stderr).toMatch(/logging stopped: stdout failed \(EAGAIN\)/);
      expect(code, stderr).toBe(0);
    } finally {
      closeSync(pipe);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
