/** Object keys every storage backend keeps as they are, and never a traversal. */

const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/**
 * Supabase Storage's key alphabet without `?`: storage-js puts paths into request URLs
 * unencoded, so a `?` would silently start a query string and address a different object.
 */
const PATH_CHARACTERS = /^[A-Za-z0-9_/!.*'() &$=@;:+,-]+$/;

export const MAX_PATH_LENGTH = 1024;

export function isValidBucketName(bucket: string): boolean {
  return typeof bucket === 'string' && BUCKET_NAME.test(bucket);
}

/** Relative, `/`-separated, no empty, `.` or `..` segments, only characters every backend keeps as they are. */
export function isValidObjectPath(path: string): boolean {
  return (
    typeof path === 'string' &&
    path.length <= MAX_PATH_LENGTH &&
    PATH_CHARACTERS.test(path) &&
    path.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..')
  );
}
