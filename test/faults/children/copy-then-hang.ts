/**
 * A process that copies one object with the local backend and stops, for ever, at the point
 * between publishing the object (link) and removing its temporary (unlink): the test kills it
 * there with SIGKILL. Arguments: storage root, source path, destination path (both in the
 * `previews` and `print-assets` buckets), expected SHA-256.
 */
import { basename } from 'node:path';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { LocalStorage } from '../../../src/storage/local/local-storage.js';

const [root, source, destination, sha256] = process.argv.slice(2) as [string, string, string, string];

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
await storage.copy({ bucket: 'previews', path: source }, { bucket: 'print-assets', path: destination }, { sha256, content_type: 'image/png' });
console.log('copy returned');
