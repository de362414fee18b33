import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codeSpan } from '../../src/workflows/markdown.js';

/** The span's fence and content, as CommonMark reads an inline code span. */
const parts = (span: string) => {
  const fence = /^`+/.exec(span)?.[0] ?? '';
  expect(fence).not.toBe('');
  expect(span.endsWith(fence)).toBe(true);
  return { fence, content: span.slice(fence.length, span.length - fence.length) };
};

describe('codeSpan', () => {
  it('shows Markdown links and formatting as code', () => {
    expect(codeSpan('[x](https://evil)')).toBe('`[x](https://evil)`');
    expect(codeSpan('**bold** <img src=x>')).toBe('`**bold** <img src=x>`');
  });

  it('fences backticks in with a longer run, padding edge backticks', () => {
    expect(codeSpan('a`b')).toBe('``a`b``');
    expect(codeSpan('`[x](https://evil)`')).toBe('`` `[x](https://evil)` ``');
  });

  it('shows line breaks escaped, so a blank line cannot end the span', () => {
    expect(codeSpan('a\n\n[x](https://evil)')).toBe('`a\\u000a\\u000a[x](https://evil)`');
  });

  it('never lets the text close its span early, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const { fence, content } = parts(codeSpan(text));
        // No run of backticks inside as long as the fence, and no line break.
        expect((content.match(/`+/g) ?? []).every((run) => run.length !== fence.length)).toBe(true);
        expect(content).not.toMatch(/[\r\n]/);
      }),
    );
  });
});
