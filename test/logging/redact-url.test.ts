import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../src/logging/redact-url.js';

describe('redactUrl', () => {
  it('hides signatures and tokens in logged URLs', () => {
    expect(redactUrl('/files/b/p.png?expires=1&signature=abc&download=x.png')).toBe(
      '/files/b/p.png?expires=1&signature=[redacted]&download=x.png',
    );
    expect(redactUrl('/x?token=t')).toBe('/x?token=[redacted]');
    expect(redactUrl('Route GET:/files/b/p.png?SIGNATURE=abc not found')).not.toContain('abc');
  });

  it('hides a signature however its name is percent-encoded, as the query parser decodes it', () => {
    for (const name of ['%73ignature', 'signatur%65', '%73%69%67%6e%61%74%75%72%65', 'Sig%6Eature', 'api%5fkey', 'tok%65n']) {
      const url = `/files/b/p.png?expires=1&${name}=s3cr3t-value&download=x.png`;
      expect(redactUrl(url), name).toBe(`/files/b/p.png?expires=1&${name}=[redacted]&download=x.png`);
    }
  });

  it('leaves other parameters, and names that only look alike, as they are', () => {
    for (const url of ['/x?expires=1&download=a.png', '/x?signatures=1', '/x?%2573ignature=1', '/x?sig%ZZnature=1']) {
      expect(redactUrl(url)).toBe(url);
    }
  });
});
