import { join, relative, sep } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkObjectRef, isValidBucketName, isValidObjectPath, MAX_PATH_LENGTH } from '../../src/storage/object-key.js';
import { StorageError } from '../../src/storage/storage-error.js';

describe('isValidBucketName', () => {
  it.each(['previews', 'print-assets', 'a', 'v1.2_b-c', '0', 'a'.repeat(63)])('accepts %j', (bucket) => {
    expect(isValidBucketName(bucket)).toBe(true);
  });

  it.each(['', '.', '..', '-a', '.a', 'A', 'a/b', 'a\\b', 'a b', 'a'.repeat(64), 'é'])('refuses %j', (bucket) => {
    expect(isValidBucketName(bucket)).toBe(false);
  });
});

describe('isValidObjectPath', () => {
  it.each([
    'a.png',
    'shop.myshopify.com/820982911946154508/3f2a.png',
    "folder/it's (final) copy!*.png",
    'a b&c$d=e@f;g:h+i,j-k_l.png',
    '..a/b..',
    '.hidden',
    'x'.repeat(MAX_PATH_LENGTH),
  ])('accepts %j', (path) => {
    expect(isValidObjectPath(path)).toBe(true);
  });

  it.each([
    '',
    '/a.png',
    'a/',
    'a//b',
    '.',
    '..',
    './a',
    'a/./b',
    '../a',
    'a/../b',
    'a/..',
    'a\\..\\b',
    'a\0b',
    '%2e%2e/a',
    'a?b',
    'a#b',
    'naïve.png',
    'a\nb',
    'x'.repeat(MAX_PATH_LENGTH + 1),
  ])('refuses %j', (path) => {
    expect(isValidObjectPath(path)).toBe(false);
  });

  it('keeps every accepted path inside its bucket directory', () => {
    const bucketDir = join('/data', 'storage', 'previews');
    const segment = fc.stringMatching(/^[A-Za-z0-9_!.*'() &$=@;:+,-]{1,12}$/);
    const path = fc
      .array(fc.oneof(segment, fc.constantFrom('.', '..', '')), { minLength: 1, maxLength: 8 })
      .map((parts) => parts.join('/'));
    fc.assert(
      fc.property(path, (candidate) => {
        if (!isValidObjectPath(candidate)) return;
        const resolved = relative(bucketDir, join(bucketDir, ...candidate.split('/')));
        // It lands exactly where its segments say: nothing normalised away, nothing climbing out.
        expect(resolved.split(sep).join('/')).toBe(candidate);
        expect(resolved === '..' || resolved.startsWith(`..${sep}`)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('checkObjectRef', () => {
  it('reports an invalid key as not_found, quoting it safely', () => {
    let thrown: unknown;
    try {
      checkObjectRef({ bucket: 'previews', path: `..\0/${'x'.repeat(500)}` });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StorageError);
    expect((thrown as StorageError).kind).toBe('not_found');
    expect((thrown as StorageError).message.length).toBeLessThan(200);
    expect((thrown as StorageError).message).not.toContain('\0');
  });

  it('accepts a valid ref', () => {
    expect(() => checkObjectRef({ bucket: 'previews', path: 'a/b.png' })).not.toThrow();
  });
});
