import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureDir, PROJECT_SUFFIX, SECRETS_SUFFIX } from '../support/capture.js';

/**
 * Runs last (its own vitest project, after every other group): every log line and response of
 * every app any test built (`buildTestApp`, `test/support/capture-app.ts`), and all the output
 * of every worker and server process the tests started, must be free of every token, webhook
 * secret, service key and signing secret any test configured, and of stack traces.
 */
const files = await readdir(captureDir()).catch(() => [] as string[]);
const projects = files.filter((file) => file.endsWith(PROJECT_SUFFIX)).map((file) => file.slice(0, -PROJECT_SUFFIX.length));
const captures = files.filter((file) => !file.endsWith(SECRETS_SUFFIX) && !file.endsWith(PROJECT_SUFFIX));

const IMPORTS_BUILD_APP = /import\s*\{[^}]*\bbuildApp\b[^}]*\}\s*from\s*'[^']*\/src\/api\/app\.js'/;

it('sees every app the tests build: they build it with buildTestApp, not buildApp', async () => {
  const sources = (await readdir('test', { recursive: true })).filter((file) => file.endsWith('.ts'));
  const direct: string[] = [];
  for (const file of sources.filter((name) => name !== path.join('support', 'capture-app.ts'))) {
    if (IMPORTS_BUILD_APP.test(await readFile(path.join('test', file), 'utf8'))) direct.push(file);
  }
  expect(sources.length).toBeGreaterThan(0);
  expect(direct).toEqual([]);
});

describe.skipIf(captures.length === 0)('the whole suite’s logs and responses', () => {
  it('come from every group that ran: the API tests’ apps and the fault tests’ apps', () => {
    if (projects.includes('integration')) {
      expect(captures.some((file) => file.startsWith('api-') && file.endsWith('.app.log'))).toBe(true);
      expect(captures.some((file) => file.startsWith('api-') && file.endsWith('.responses.log'))).toBe(true);
    }
    if (projects.includes('faults')) {
      expect(captures.some((file) => file.startsWith('faults-') && file.endsWith('.app.log'))).toBe(true);
      expect(captures.some((file) => file.startsWith('faults-') && file.endsWith('.responses.log'))).toBe(true);
    }
  });

  it('never contain a token, a webhook secret, a service key or a signing secret', async () => {
    const secrets = new Set<string>();
    for (const file of files.filter((name) => name.endsWith(SECRETS_SUFFIX))) {
      const text = await readFile(path.join(captureDir(), file), 'utf8');
      // Appended JSON arrays, one per registration.
      for (const chunk of text.split(/(?<=\])(?=\[)/)) for (const secret of JSON.parse(chunk) as string[]) secrets.add(secret);
    }
    expect(secrets.size).toBeGreaterThan(0);
    // As they would be written: raw, percent-encoded (in a URL), or base64 (in a header).
    const forms = [...secrets].flatMap((secret) =>
      [...new Set([secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')])].map((form) => ({ secret, form })),
    );

    let bytes = 0;
    const leaks: string[] = [];
    for (const file of captures) {
      const text = await readFile(path.join(captureDir(), file), 'utf8');
      bytes += text.length;
      for (const { secret, form } of forms) {
        const at = text.indexOf(form);
        if (at >= 0) leaks.push(`${file}: ${secret.slice(0, 6)}… in …${text.slice(Math.max(0, at - 80), at).replace(/\s+/g, ' ')}`);
      }
    }
    console.log(`scanned ${captures.length} captures (${(bytes / 1024 / 1024).toFixed(1)} MiB) for ${secrets.size} secrets`);
    expect(leaks).toEqual([]);
  });

  it('never contain a stack trace', async () => {
    // A JavaScript stack frame, raw or inside a JSON string: "\n    at fn (/file.js:1:2)".
    const frame = /(?:\n|\\n)\s+at \S[^\n]*?:\d+:\d+/;
    const found: string[] = [];
    for (const file of captures) {
      const text = await readFile(path.join(captureDir(), file), 'utf8');
      const match = frame.exec(text);
      if (match) found.push(`${file}: …${text.slice(Math.max(0, match.index - 120), match.index + 80).replace(/\s+/g, ' ')}`);
    }
    expect(found).toEqual([]);
  });
});
