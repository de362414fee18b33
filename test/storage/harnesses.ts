import { randomUUID } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { StorageClient } from '@supabase/storage-js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import type { ObjectFolder, ObjectRef, ObjectStorage } from '../../src/storage/object-storage.js';
import { SupabaseStorage } from '../../src/storage/supabase/supabase-storage.js';
import { SupabaseStorageStandIn } from '../support/supabase-storage-stand-in.js';
import { startLocalFileServer } from './local/local-file-server.js';

/** One backend under test, with the means to reach underneath it. */
export interface StorageHarness {
  readonly storage: ObjectStorage;
  /** Places an object the way an upstream generator would, bypassing the backend. */
  put(ref: ObjectRef, bytes: Uint8Array, contentType?: string): Promise<void>;
  /** The stored bytes as they are underneath the backend, or null when absent. */
  read(ref: ObjectRef): Promise<Buffer | null>;
  /** The names of the objects (and anything else) in a folder, from underneath the backend. */
  list(folder: ObjectFolder): Promise<string[]>;
  /** Makes a bucket unreadable to the backend; false when this harness cannot (root ignores file modes). */
  deny(bucket: string): Promise<boolean>;
  allow(bucket: string): Promise<void>;
  /** Changes whenever anything the backend could touch outside its buckets' objects changes. */
  fingerprint(): Promise<string>;
  close(): Promise<void>;
}

export type HarnessFactory = () => Promise<StorageHarness>;

/** `LocalStorage` under a temp dir with a sentinel file beside and inside its root, and a files route. */
export const localHarness: HarnessFactory = async () => {
  const base = await mkdtemp(join(tmpdir(), 'printready-local-storage-'));
  const root = join(base, 'storage');
  await mkdir(root);
  await writeFile(join(base, 'sentinel.txt'), 'outside the storage root');
  await writeFile(join(root, 'sentinel.txt'), 'outside every bucket');
  const signingSecret = randomUUID();
  // The file server calls back only once requests come, by then the storage exists.
  const files = await startLocalFileServer(signingSecret, (ref) => storage.read(ref));
  const storage = new LocalStorage({ root, publicBaseUrl: files.url, signingSecret });
  const fileOf = (ref: ObjectRef): string => join(root, ref.bucket, ...ref.path.split('/'));
  return {
    storage,
    async put(ref, bytes) {
      await mkdir(dirname(fileOf(ref)), { recursive: true });
      await writeFile(fileOf(ref), bytes);
    },
    read: (ref) => readFile(fileOf(ref)).catch(() => null),
    list: async ({ bucket, folder }) => (await readdir(join(root, bucket, ...folder.split('/'))).catch(() => [])).sort(),
    async deny(bucket) {
      if (process.getuid?.() === 0) return false;
      await chmod(join(root, bucket), 0o000);
      return true;
    },
    allow: (bucket) => chmod(join(root, bucket), 0o755),
    fingerprint: () => listTree(base),
    async close() {
      await files.close();
      await rm(base, { recursive: true, force: true });
    },
  };
};

/** `SupabaseStorage` against the stand-in; objects are uploaded through storage-js as a generator would. */
export const supabaseHarness: HarnessFactory = async () => {
  const standIn = await SupabaseStorageStandIn.start();
  const generator = new StorageClient(`${standIn.url}/storage/v1`, {
    apikey: standIn.serviceKey,
    Authorization: `Bearer ${standIn.serviceKey}`,
  });
  return {
    storage: new SupabaseStorage({ url: standIn.url, serviceKey: standIn.serviceKey }),
    async put(ref, bytes, contentType = 'application/octet-stream') {
      const { error } = await generator.from(ref.bucket).upload(ref.path, Buffer.from(bytes), { contentType, upsert: true });
      if (error) throw error;
    },
    read: (ref) => standIn.readObject(ref),
    list: ({ bucket, folder }) => Promise.resolve(standIn.keys(bucket, `${folder}/`).map((key) => key.slice(folder.length + 1))),
    deny(bucket) {
      standIn.deny(bucket);
      return Promise.resolve(true);
    },
    allow(bucket) {
      standIn.allow(bucket);
      return Promise.resolve();
    },
    // Validation happens before any I/O: a rejected key must not even reach the server.
    fingerprint: () => Promise.resolve(`${standIn.requests.length} requests`),
    close: () => standIn.close(),
  };
};

/** Every file and folder under `dir`, with sizes and modification times. */
async function listTree(dir: string): Promise<string> {
  const entries = await readdir(dir, { recursive: true });
  const lines = await Promise.all(
    entries.sort().map(async (entry) => {
      const info = await stat(join(dir, entry)).catch(() => null);
      return `${entry} ${info?.size ?? '-'} ${info?.mtimeMs ?? '-'}`;
    }),
  );
  return lines.join('\n');
}
