import { StorageClient } from '@supabase/storage-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SupabaseStorageStandIn } from '../../support/supabase-storage-stand-in.js';
import { Teardown } from '../../support/teardown.js';

/** The parts of the stand-in's protocol that the backend tests do not reach, through storage-js itself. */
describe('Supabase Storage stand-in', () => {
  let standIn: SupabaseStorageStandIn;
  let client: StorageClient;

  const teardown = new Teardown();
  beforeAll(async () => {
    standIn = await SupabaseStorageStandIn.start();
    teardown.defer(() => standIn.close());
    client = new StorageClient(`${standIn.url}/storage/v1`, {
      apikey: standIn.serviceKey,
      Authorization: `Bearer ${standIn.serviceKey}`,
    });
    expect((await client.createBucket('files', { public: false })).error).toBeNull();
  });
  afterAll(() => teardown.run());

  const get = (path: string, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${standIn.url}/storage/v1${path}`, {
      headers: { apikey: standIn.serviceKey, Authorization: `Bearer ${standIn.serviceKey}`, ...headers },
    });

  it('uploads, refuses a second upload without upsert, and updates', async () => {
    const files = client.from('files');
    expect((await files.upload('a b/c.txt', Buffer.from('one'), { contentType: 'text/plain' })).data).toEqual({
      path: 'a b/c.txt',
      id: expect.any(String) as unknown,
      fullPath: 'files/a b/c.txt',
    });
    expect((await files.upload('a b/c.txt', Buffer.from('two'))).error).toMatchObject({ status: 400, statusCode: '409' });
    expect((await files.update('a b/c.txt', Buffer.from('three'))).error).toBeNull();
    expect(await standIn.readObject({ bucket: 'files', path: 'a b/c.txt' })).toEqual(Buffer.from('three'));
    expect((await files.info('a b/c.txt')).data).toMatchObject({ size: 5, bucketId: 'files', name: 'a b/c.txt' });
  });

  it('serves byte ranges', async () => {
    await standIn.putObject({ bucket: 'files', path: 'digits.txt' }, Buffer.from('0123456789'));
    const range = await get('/object/authenticated/files/digits.txt', { Range: 'bytes=2-5' });
    expect(range.status).toBe(206);
    expect(range.headers.get('content-range')).toBe('bytes 2-5/10');
    expect(await range.text()).toBe('2345');
    expect(await (await get('/object/files/digits.txt', { Range: 'bytes=-3' })).text()).toBe('789');
    expect((await get('/object/files/digits.txt', { Range: 'bytes=10-' })).status).toBe(416);
  });

  it('deletes single objects, answering a missing one with NoSuchKey', async () => {
    await standIn.putObject({ bucket: 'files', path: 'gone.txt' }, Buffer.from('x'));
    const remove = () =>
      fetch(`${standIn.url}/storage/v1/object/files/gone.txt`, {
        method: 'DELETE',
        headers: { apikey: standIn.serviceKey, Authorization: `Bearer ${standIn.serviceKey}` },
      });
    expect(await (await remove()).json()).toEqual({ message: 'Successfully deleted' });
    expect(await (await remove()).json()).toMatchObject({ statusCode: '404', code: 'NoSuchKey' });
  });

  it('refuses a request without an apikey at the gateway', async () => {
    const response = await fetch(`${standIn.url}/storage/v1/bucket/files`);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ message: 'No API key found in request' });
  });

  it('answers a duplicate bucket as Duplicate', async () => {
    expect((await client.createBucket('files')).error).toMatchObject({ status: 400, statusCode: '409' });
  });
});
