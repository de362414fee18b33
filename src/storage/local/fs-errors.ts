import { errorCode } from '../../lib/error-code.js';
import { StorageError, type StorageErrorKind } from '../storage-error.js';

type FsErrorKind = Extract<StorageErrorKind, 'not_found' | 'denied' | 'transient'>;

/**
 * The local backend's one error classifier. Anything not listed is `transient`: a full disk or
 * too many open files may well pass.
 */
const KINDS = new Map<string, FsErrorKind>([
  ['ENOENT', 'not_found'],
  // A path through a regular file, or a directory where an object was named: no such object.
  ['ENOTDIR', 'not_found'],
  ['EISDIR', 'not_found'],
  ['ENAMETOOLONG', 'not_found'],
  ['EACCES', 'denied'],
  ['EPERM', 'denied'],
  // A symlink loop, or a link swapped in where a checked file was (files are opened with O_NOFOLLOW).
  ['ELOOP', 'denied'],
]);

const SAYS: Record<FsErrorKind, string> = {
  not_found: 'not found',
  denied: 'not accessible',
  transient: 'filesystem error',
};

export function classifyFsError(error: unknown, what: string): StorageError {
  if (error instanceof StorageError) return error;
  const code = errorCode(error);
  const kind = (code === undefined ? undefined : KINDS.get(code)) ?? 'transient';
  // The code, not the message: fs messages carry this host's absolute paths.
  return new StorageError(kind, `${what}: ${SAYS[kind]} (${code ?? 'unexpected error'})`, { cause: error });
}
