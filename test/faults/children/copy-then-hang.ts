/**
 * A process that copies one object with the local backend and stops, for ever, at the point
 * between publishing the object (link) and removing its temporary (unlink): the test kills it
 * there with SIGKILL. Arguments: storage root, source path, destination path (both in the
 * `previews` and `print-assets` buckets), expected SHA-256, and `copy` or `copyVerified` (which
 * places the copy, a PNG, by its hash in the destination's folder).
 */
import { basename } from 'node:path';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { LocalStorage } from '../../../src/storage/local/local-storage.js';

const [root, source, destination, sha256, method] = process.argv.slice(2) as [string, string, string, string, 'copy' | 'copyVerified'];

// The backend imports `unlink` from node:fs/promises; the module's own exports are what it sees.
const fs = createRequire(import.meta.url)('node:fs/promises') as typeof import('node:fs/promises');
const unlink = fs.unlink;
fs.unlink = async (path) => {
  if (basename(String(path)).startsWith('.partial-')) {
    console.log('published, temporary not yet removed');
    await new Promise(() => undefined);
  }
  return unlink(path);
};
syncBuiltinESMExports();

const storage = new LocalStorage({ root, publicBaseUrl: 'http://127.0.0.1:9', signingSecret: 'unused-in-this-process' });
const from = { bucket: 'previews', path: source };
if (method === 'copy') {
  await storage.copy(from, { bucket: 'print-assets', path: destination }, { sha256, content_type: 'image/png' });
} else {
  const folder = destination.slice(0, destination.lastIndexOf('/'));
  await storage.copyVerified(from, { bucket: 'print-assets', folder }, ({ sha256: hash }) => ({
    name: `${hash}.png`,
    content_type: 'image/png',
  }));
}
console.log('copy returned');
