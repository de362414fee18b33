import path from 'node:path';
import type { Config } from '../config/config.js';
import { LocalStorage } from './local/local-storage.js';
import { localSigningSecret } from './local/signing-secret.js';
import type { ObjectStorage } from './object-storage.js';
import { SupabaseStorage } from './supabase/supabase-storage.js';

type StorageConfig = Pick<Config, 'SUPABASE_URL' | 'SUPABASE_SERVICE_ROLE_KEY' | 'DATA_DIR' | 'LOCAL_SIGNING_SECRET'>;

/**
 * Supabase Storage when it is configured, else the local filesystem under `$DATA_DIR/storage`,
 * whose signed URLs point at the files route under `publicBaseUrl`.
 */
export async function createStorage(config: StorageConfig, publicBaseUrl: string): Promise<ObjectStorage> {
  if (config.SUPABASE_URL && config.SUPABASE_SERVICE_ROLE_KEY) {
    return new SupabaseStorage({ url: config.SUPABASE_URL, serviceKey: config.SUPABASE_SERVICE_ROLE_KEY });
  }
  return new LocalStorage({
    root: path.resolve(config.DATA_DIR, 'storage'),
    publicBaseUrl,
    signingSecret: await localSigningSecret(config.DATA_DIR, config.LOCAL_SIGNING_SECRET),
  });
}
