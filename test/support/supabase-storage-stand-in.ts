import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ObjectRef } from '../../src/storage/object-storage.js';

/**
 * A local stand-in for Supabase Storage (`/storage/v1`), speaking its wire protocol for what
 * printready and storage-js use, so tests exercise the real client against real HTTP:
 *
 * - `POST /bucket`, `GET /bucket/{id}`
 * - `POST|PUT /object/{bucket}/{key}` (raw bodies, `x-upsert`), `GET /object[/authenticated]/{bucket}/{key}`
 *   (with `Range`), `DELETE /object/{bucket}/{key}`, `DELETE /object/{bucket}` with `{ prefixes }`
 * - `GET /object/info[/authenticated]/{bucket}/{key}`
 * - `POST /object/copy` with `{ bucketId, sourceKey, destinationKey, destinationBucket, copyMetadata, metadata }`:
 *   with `copyMetadata: false` the copy takes `metadata.mimetype`/`cacheControl` where given and
 *   keeps the source's otherwise (the server's `preserveUnspecifiedFileMetadata`)
 * - `POST /object/sign/{bucket}/{key}` → `{ signedURL }` with an HS256 token carrying `url` and
 *   `exp`, and `GET /object/sign/{bucket}/{key}?token=` (no credentials needed)
 * - `POST /object/list/{bucket}` with `{ prefix, limit, offset, sortBy, search }`: one folder level, sorted by
 *   name, folders as entries whose `id` is null (the server's `storage.search`)
 *
 * As in supabase/storage, errors are HTTP 400 with the logical status in the body
 * (`{ statusCode: "404", code: "NoSuchKey", error: "not_found", message: "Object not found" }`),
 * except internal errors (HTTP 500); the API gateway answers a bad `apikey` with 401. Objects
 * are files in a temp dir, streamed both ways, so large objects never sit in memory.
 *
 * Fault switches act on the next matching requests: `failNext`, `resetNext`, `delayNext`, and
 * `deny(bucket)` answers every request on a bucket with AccessDenied (403).
 */

export interface StandInRequest {
  method: string;
  /** The path after `/storage/v1`, still percent-encoded. */
  path: string;
}

export type RequestMatch = (request: StandInRequest) => boolean;

type Fault =
  | { kind: 'fail'; status: number; body: unknown }
  | { kind: 'reset'; afterBytes: number | undefined; stall?: boolean }
  | { kind: 'delay'; ms: number };

interface QueuedFault {
  fault: Fault;
  remaining: number;
  match: RequestMatch;
}

interface StoredObject {
  id: string;
  version: string;
  file: string;
  size: number;
  contentType: string;
  cacheControl: string;
  etag: string;
  createdAt: string;
  updatedAt: string;
}

interface Bucket {
  id: string;
  public: boolean;
  createdAt: string;
  objects: Map<string, StoredObject>;
}

/** Storage's own key and bucket alphabets (storage/src/storage/limits.ts). */
const VALID_KEY = /^[A-Za-z0-9_/!.*'() &$=@;:+,?-]+$/;
const VALID_BUCKET = /^[A-Za-z0-9_!.*'() &$=@;:+,?-]{1,100}$/;

const STORAGE_PREFIX = '/storage/v1';
const OBJECT_ROUTE = /^\/object\/(?:(sign|info\/authenticated|info|authenticated)\/)?([^/]+)\/(.+)$/;

/** An error as supabase/storage renders it. */
class StorageApiFailure extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    readonly error: string,
    message: string,
  ) {
    super(message);
  }

  get body(): Record<string, string> {
    return { statusCode: String(this.statusCode), code: this.code, error: this.error, message: this.message };
  }

  /** Storage sends 500 for internal errors and 400 for everything else. */
  get httpStatus(): number {
    return this.statusCode === 500 ? 500 : 400;
  }
}

const failures = {
  noSuchKey: () => new StorageApiFailure(404, 'NoSuchKey', 'not_found', 'Object not found'),
  noSuchBucket: () => new StorageApiFailure(404, 'NoSuchBucket', 'Bucket not found', 'Bucket not found'),
  accessDenied: (message: string) => new StorageApiFailure(403, 'AccessDenied', 'Unauthorized', message),
  keyAlreadyExists: () => new StorageApiFailure(409, 'KeyAlreadyExists', 'Duplicate', 'The resource already exists'),
  bucketAlreadyExists: () => new StorageApiFailure(409, 'BucketAlreadyExists', 'Duplicate', 'The resource already exists'),
  invalidKey: (key: string) => new StorageApiFailure(400, 'InvalidKey', 'InvalidKey', `Invalid key: ${key}`),
  invalidBucketName: () => new StorageApiFailure(400, 'InvalidBucketName', 'Invalid Input', 'Bucket name invalid'),
  invalidRequest: (message: string) => new StorageApiFailure(400, 'InvalidRequest', 'InvalidRequest', message),
  invalidJwt: (message: string) => new StorageApiFailure(400, 'InvalidJWT', 'InvalidJWT', message),
  invalidSignature: () => new StorageApiFailure(400, 'InvalidSignature', 'InvalidSignature', 'Invalid signature'),
  internal: () => new StorageApiFailure(500, 'InternalError', 'Internal', 'Internal Server Error'),
  notFoundRoute: (method: string, path: string) => new StorageApiFailure(404, 'NotFound', 'Not Found', `Route ${method}:${path} not found`),
};

export class SupabaseStorageStandIn {
  /** What to pass as `SUPABASE_URL`. */
  readonly url: string;
  /** A service-role JWT signed with this stand-in's secret. */
  readonly serviceKey: string;
  /** Every request received, in order. */
  readonly requests: StandInRequest[] = [];

  readonly #server: Server;
  readonly #dir: string;
  readonly #jwtSecret: string;
  readonly #buckets = new Map<string, Bucket>();
  readonly #denied = new Set<string>();
  #faults: QueuedFault[] = [];

  private constructor(server: Server, dir: string, jwtSecret: string) {
    this.#server = server;
    this.#dir = dir;
    this.#jwtSecret = jwtSecret;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    this.serviceKey = signJwt({ iss: 'supabase-stand-in', role: 'service_role', iat: nowSeconds() }, jwtSecret);
  }

  static async start(): Promise<SupabaseStorageStandIn> {
    const dir = await mkdtemp(join(tmpdir(), 'supabase-stand-in-'));
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const standIn = new SupabaseStorageStandIn(server, dir, randomUUID());
    server.on('request', (req, res) => void standIn.#handle(req, res));
    return standIn;
  }

  /**
   * Answers the next `count` matching requests with `status` and `body`: storage-shaped JSON by
   * default, a string sent as it is (a gateway's HTML page).
   */
  failNext(count: number, options: { status?: number; body?: unknown; match?: RequestMatch } = {}): void {
    const status = options.status ?? 503;
    const body = options.body ?? new StorageApiFailure(status, 'InternalError', 'Internal', 'Service Unavailable').body;
    this.#queue(count, { kind: 'fail', status, body }, options.match);
  }

  /** Destroys the connection of the next `count` matching requests, at once or after `afterBytes` of a download. */
  resetNext(count: number, options: { afterBytes?: number; match?: RequestMatch } = {}): void {
    this.#queue(count, { kind: 'reset', afterBytes: options.afterBytes }, options.match);
  }

  /**
   * Sends `afterBytes` of the next `count` matching downloads and then nothing more, leaving the
   * connection open (a transfer that stalls without an error), until the client gives up.
   */
  stallNext(count: number, options: { afterBytes: number; match?: RequestMatch }): void {
    this.#queue(count, { kind: 'reset', afterBytes: options.afterBytes, stall: true }, options.match);
  }

  /** Holds the next `count` matching requests for `ms` before answering them. */
  delayNext(count: number, ms: number, options: { match?: RequestMatch } = {}): void {
    this.#queue(count, { kind: 'delay', ms }, options.match);
  }

  /** Every request on `bucket` is refused with AccessDenied until `allow`. */
  deny(bucket: string): void {
    this.#denied.add(bucket);
  }

  allow(bucket: string): void {
    this.#denied.delete(bucket);
  }

  /** Seeds an object directly, as an upstream generator would have uploaded it. The bucket must exist. */
  async putObject(ref: ObjectRef, content: Uint8Array | { file: string }, contentType = 'application/octet-stream'): Promise<void> {
    const bucket = this.#buckets.get(ref.bucket);
    if (!bucket) throw new Error(`stand-in: no bucket ${ref.bucket}`);
    const file = this.#newFile();
    const source = content instanceof Uint8Array ? Readable.from([content]) : createReadStream(content.file);
    const { size, etag } = await measure(source, createWriteStream(file));
    this.#store(bucket, ref.path, { file, size, etag, contentType, cacheControl: 'max-age=3600' });
  }

  /** The stored bytes, read from underneath the API, or null. */
  async readObject(ref: ObjectRef): Promise<Buffer | null> {
    const object = this.#buckets.get(ref.bucket)?.objects.get(ref.path);
    return object ? readFile(object.file) : null;
  }

  /** The keys stored under `prefix` in `bucket`, from underneath the API. */
  keys(bucket: string, prefix: string): string[] {
    return [...(this.#buckets.get(bucket)?.objects.keys() ?? [])].filter((key) => key.startsWith(prefix)).sort();
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await rm(this.#dir, { recursive: true, force: true });
  }

  #queue(count: number, fault: Fault, match: RequestMatch = () => true): void {
    this.#faults.push({ fault, remaining: count, match });
  }

  #takeFault(request: StandInRequest): Fault | undefined {
    const queued = this.#faults.find((candidate) => candidate.remaining > 0 && candidate.match(request));
    if (!queued) return undefined;
    queued.remaining -= 1;
    this.#faults = this.#faults.filter((candidate) => candidate.remaining > 0);
    return queued.fault;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const request = { method: req.method ?? 'GET', path: url.pathname.slice(STORAGE_PREFIX.length) };
    this.requests.push(request);
    const fault = this.#takeFault(request);
    if (fault?.kind === 'delay') await sleep(fault.ms);
    if (fault?.kind === 'fail') {
      sendBody(res, fault.status, fault.body);
      return;
    }
    if (fault?.kind === 'reset' && fault.afterBytes === undefined) {
      req.socket.destroy();
      return;
    }
    const resetAfter = fault?.kind === 'reset' ? fault.afterBytes : undefined;
    const stall = fault?.kind === 'reset' && fault.stall === true;
    try {
      if (!url.pathname.startsWith(`${STORAGE_PREFIX}/`)) {
        // The gateway's answer for a path no service owns.
        sendBody(res, 404, { message: 'no Route matched with those values' });
        return;
      }
      await this.#route(req, res, request, url.searchParams, resetAfter, stall);
    } catch (error) {
      req.resume();
      const failure = error instanceof StorageApiFailure ? error : failures.internal();
      if (!res.headersSent) sendBody(res, failure.httpStatus, failure.body);
      else res.destroy();
    }
  }

  async #route(
    req: IncomingMessage,
    res: ServerResponse,
    { method, path }: StandInRequest,
    query: URLSearchParams,
    resetAfter: number | undefined,
    stall = false,
  ): Promise<void> {
    const object = OBJECT_ROUTE.exec(path);
    const [, area, rawBucket, rawKey] = object ?? [];
    // Signed URLs carry their own credentials; everything else needs the gateway's and storage's.
    if (!(method === 'GET' && area === 'sign')) {
      if (!this.#passesGateway(req, res)) return;
      this.#authenticate(req);
    }

    if (method === 'POST' && path === '/bucket') {
      this.#createBucket(res, await readJson(req));
      return;
    }
    const bucketRoute = /^\/bucket\/([^/]+)$/.exec(path)?.[1];
    if (method === 'GET' && bucketRoute !== undefined) {
      this.#getBucket(res, decode(bucketRoute));
      return;
    }
    if (method === 'POST' && path === '/object/copy') return this.#copy(req, res, await readJson(req));
    const listed = /^\/object\/list\/([^/]+)$/.exec(path)?.[1];
    if (method === 'POST' && listed !== undefined) {
      this.#list(res, decode(listed), await readJson(req));
      return;
    }
    const bulkDelete = /^\/object\/([^/]+)$/.exec(path)?.[1];
    if (method === 'DELETE' && bulkDelete !== undefined) return this.#removeMany(res, decode(bulkDelete), await readJson(req));

    if (rawBucket !== undefined && rawKey !== undefined) {
      const bucket = decode(rawBucket);
      const key = decode(rawKey);
      if (method === 'GET' && area === 'sign') return this.#getSigned(req, res, bucket, key, query, resetAfter, stall);
      this.#checkAllowed(bucket);
      if (method === 'POST' && area === 'sign') {
        this.#sign(res, bucket, key, await readJson(req));
        return;
      }
      if (method === 'GET' && area?.startsWith('info')) {
        this.#info(res, bucket, key);
        return;
      }
      if (method === 'GET' && (area === undefined || area === 'authenticated')) {
        return this.#download(req, res, this.#find(bucket, key), { download: query.get('download'), resetAfter, stall });
      }
      if ((method === 'POST' || method === 'PUT') && area === undefined) {
        return this.#upload(req, res, bucket, key, method);
      }
      if (method === 'DELETE' && area === undefined) return this.#removeOne(res, bucket, key);
    }
    throw failures.notFoundRoute(method, path);
  }

  /** The API gateway checks `apikey` before Storage sees the request. */
  #passesGateway(req: IncomingMessage, res: ServerResponse): boolean {
    const apikey = req.headers.apikey;
    if (typeof apikey !== 'string') {
      req.resume();
      sendBody(res, 401, {
        message: 'No API key found in request',
        hint: 'No `apikey` request header or url param was found.',
      });
      return false;
    }
    if (!sameString(apikey, this.serviceKey)) {
      req.resume();
      sendBody(res, 401, {
        message: 'Invalid API key',
        hint: 'Double check your Supabase `anon` or `service_role` API key.',
      });
      return false;
    }
    return true;
  }

  /** Storage verifies the bearer JWT; a bad one is AccessDenied with the verifier's message. */
  #authenticate(req: IncomingMessage): void {
    const token = (req.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
    try {
      verifyJwt(token, this.#jwtSecret);
    } catch (error) {
      throw failures.accessDenied((error as Error).message);
    }
  }

  #checkAllowed(bucket: string): void {
    if (this.#denied.has(bucket)) throw failures.accessDenied('new row violates row-level security policy');
  }

  #createBucket(res: ServerResponse, body: Record<string, unknown>): void {
    const id = typeof body.id === 'string' ? body.id : body.name;
    if (typeof id !== 'string' || !VALID_BUCKET.test(id)) throw failures.invalidBucketName();
    if (this.#buckets.has(id)) throw failures.bucketAlreadyExists();
    const createdAt = new Date().toISOString();
    this.#buckets.set(id, { id, public: body.public === true, createdAt, objects: new Map() });
    sendBody(res, 200, { name: id });
  }

  #getBucket(res: ServerResponse, id: string): void {
    const bucket = this.#buckets.get(id);
    if (!bucket) throw failures.noSuchBucket();
    sendBody(res, 200, {
      id,
      name: id,
      owner: '',
      public: bucket.public,
      file_size_limit: null,
      allowed_mime_types: null,
      created_at: bucket.createdAt,
      updated_at: bucket.createdAt,
    });
  }

  #bucket(id: string): Bucket {
    const bucket = this.#buckets.get(id);
    if (!bucket) throw failures.noSuchBucket();
    return bucket;
  }

  #find(bucketId: string, key: string): StoredObject {
    const object = this.#bucket(bucketId).objects.get(key);
    if (!object) throw failures.noSuchKey();
    return object;
  }

  async #upload(req: IncomingMessage, res: ServerResponse, bucketId: string, key: string, method: string): Promise<void> {
    const bucket = this.#bucket(bucketId);
    if (!VALID_KEY.test(key)) throw failures.invalidKey(key);
    const exists = bucket.objects.has(key);
    if (method === 'POST' && exists && req.headers['x-upsert'] !== 'true') throw failures.keyAlreadyExists();
    if (method === 'PUT' && !exists) throw failures.noSuchKey();
    const contentType = req.headers['content-type'] ?? 'application/octet-stream';
    if (contentType.startsWith('multipart/')) {
      throw failures.invalidRequest('The stand-in takes raw upload bodies only');
    }
    const file = this.#newFile();
    const { size, etag } = await measure(req, createWriteStream(file));
    const stored = this.#store(bucket, key, {
      file,
      size,
      etag,
      contentType,
      cacheControl: req.headers['cache-control'] ?? 'no-cache',
    });
    sendBody(res, 200, { Id: stored.id, Key: `${bucketId}/${key}` });
  }

  #info(res: ServerResponse, bucketId: string, key: string): void {
    const object = this.#find(bucketId, key);
    sendBody(res, 200, {
      id: object.id,
      name: key,
      version: object.version,
      bucket_id: bucketId,
      size: object.size,
      content_type: object.contentType,
      cache_control: object.cacheControl,
      etag: object.etag,
      metadata: {},
      last_modified: object.updatedAt,
      created_at: object.createdAt,
    });
  }

  async #copy(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): Promise<void> {
    const { bucketId, sourceKey, destinationKey } = body;
    if (typeof bucketId !== 'string' || typeof sourceKey !== 'string' || typeof destinationKey !== 'string') {
      throw failures.invalidRequest("body must have required properties 'bucketId', 'sourceKey', 'destinationKey'");
    }
    const destinationBucketId = typeof body.destinationBucket === 'string' ? body.destinationBucket : bucketId;
    this.#checkAllowed(bucketId);
    this.#checkAllowed(destinationBucketId);
    if (!VALID_KEY.test(destinationKey)) throw failures.invalidKey(destinationKey);
    const source = this.#find(bucketId, sourceKey);
    const destination = this.#bucket(destinationBucketId);
    if (destination.objects.has(destinationKey) && req.headers['x-upsert'] !== 'true') {
      throw failures.keyAlreadyExists();
    }
    const file = this.#newFile();
    await copyFile(source.file, file);
    const metadata = (body.metadata ?? {}) as { mimetype?: unknown; cacheControl?: unknown };
    const replaced = body.copyMetadata === false;
    const stored = this.#store(destination, destinationKey, {
      ...source,
      file,
      contentType: replaced && typeof metadata.mimetype === 'string' ? metadata.mimetype : source.contentType,
      cacheControl: replaced && typeof metadata.cacheControl === 'string' ? metadata.cacheControl : source.cacheControl,
    });
    sendBody(res, 200, {
      Id: stored.id,
      Key: `${destinationBucketId}/${destinationKey}`,
      name: destinationKey,
      bucket_id: destinationBucketId,
    });
  }

  /**
   * One level of a folder, as the server's `storage.search` answers it: the names below
   * `prefix/` (a trailing slash is implied), each sub-folder once with null fields, sorted by
   * name ("C" collation) and paged by `limit`/`offset`.
   */
  #list(res: ServerResponse, bucketId: string, body: Record<string, unknown>): void {
    this.#checkAllowed(bucketId);
    const bucket = this.#bucket(bucketId);
    const rawPrefix = typeof body.prefix === 'string' ? body.prefix : '';
    const prefix = rawPrefix === '' || rawPrefix.endsWith('/') ? rawPrefix : `${rawPrefix}/`;
    const limit = typeof body.limit === 'number' ? body.limit : 100;
    const offset = typeof body.offset === 'number' ? body.offset : 0;
    const entries = new Map<string, unknown>();
    for (const [key, object] of bucket.objects) {
      if (!key.startsWith(prefix)) continue;
      const [name = '', ...deeper] = key.slice(prefix.length).split('/');
      if (deeper.length > 0) {
        entries.set(name, { name, id: null, updated_at: null, created_at: null, last_accessed_at: null, metadata: null });
        continue;
      }
      entries.set(name, {
        name,
        id: object.id,
        updated_at: object.updatedAt,
        created_at: object.createdAt,
        last_accessed_at: object.updatedAt,
        metadata: {
          eTag: object.etag,
          size: object.size,
          mimetype: object.contentType,
          cacheControl: object.cacheControl,
          lastModified: object.updatedAt,
          contentLength: object.size,
          httpStatusCode: 200,
        },
      });
    }
    const sorted = [...entries.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, entry]) => entry);
    sendBody(res, 200, sorted.slice(offset, offset + limit));
  }

  async #removeMany(res: ServerResponse, bucketId: string, body: Record<string, unknown>): Promise<void> {
    this.#checkAllowed(bucketId);
    const prefixes: unknown = body.prefixes;
    if (!Array.isArray(prefixes) || prefixes.length === 0) {
      throw failures.invalidRequest('body/prefixes must NOT have fewer than 1 items');
    }
    const bucket = this.#buckets.get(bucketId);
    const removed = [];
    for (const key of prefixes as unknown[]) {
      const object = typeof key === 'string' ? bucket?.objects.get(key) : undefined;
      if (typeof key !== 'string' || !bucket || !object) continue;
      bucket.objects.delete(key);
      await unlink(object.file);
      removed.push({ name: key, bucket_id: bucketId, id: object.id });
    }
    sendBody(res, 200, removed);
  }

  async #removeOne(res: ServerResponse, bucketId: string, key: string): Promise<void> {
    const object = this.#find(bucketId, key);
    this.#bucket(bucketId).objects.delete(key);
    await unlink(object.file);
    sendBody(res, 200, { message: 'Successfully deleted' });
  }

  #sign(res: ServerResponse, bucketId: string, key: string, body: Record<string, unknown>): void {
    const { expiresIn } = body;
    if (typeof expiresIn !== 'number' || !Number.isInteger(expiresIn) || expiresIn < 1) {
      throw failures.invalidRequest('body/expiresIn must be >= 1');
    }
    this.#find(bucketId, key);
    const iat = nowSeconds();
    const url = `${bucketId}/${key}`;
    const token = signJwt({ url, scope: 'download', iat, exp: iat + expiresIn }, this.#jwtSecret);
    sendBody(res, 200, { signedURL: `/object/sign/${url}?token=${token}` });
  }

  async #getSigned(
    req: IncomingMessage,
    res: ServerResponse,
    bucketId: string,
    key: string,
    query: URLSearchParams,
    resetAfter: number | undefined,
    stall = false,
  ): Promise<void> {
    const token = query.get('token');
    if (!token) throw failures.invalidRequest("querystring must have required property 'token'");
    let payload: Record<string, unknown>;
    try {
      payload = verifyJwt(token, this.#jwtSecret);
    } catch (error) {
      throw failures.invalidJwt((error as Error).message);
    }
    if (payload.url !== `${bucketId}/${key}`) throw failures.invalidSignature();
    const object = this.#buckets.get(bucketId)?.objects.get(key);
    if (!object) throw failures.noSuchKey();
    const expires = new Date(Number(payload.exp) * 1000).toUTCString();
    await this.#download(req, res, object, { download: query.get('download'), resetAfter, stall, expires });
  }

  async #download(
    req: IncomingMessage,
    res: ServerResponse,
    object: StoredObject,
    options: { download: string | null; resetAfter: number | undefined; stall?: boolean; expires?: string },
  ): Promise<void> {
    const range = parseRange(req.headers.range, object.size);
    if (range === 'unsatisfiable') {
      res.writeHead(416, { 'Content-Range': `bytes */${object.size}` }).end();
      return;
    }
    const { start, end } = range ?? { start: 0, end: object.size - 1 };
    const headers: Record<string, string> = {
      'Content-Type': object.contentType,
      'Content-Length': String(end - start + 1),
      'Accept-Ranges': 'bytes',
      ETag: object.etag,
      'Cache-Control': options.expires ? 'no-cache' : object.cacheControl,
    };
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${object.size}`;
    if (options.expires) headers.Expires = options.expires;
    if (options.download !== null) {
      const name = encodeURIComponent(options.download);
      headers['Content-Disposition'] = name ? `attachment; filename=${name}; filename*=UTF-8''${name}` : 'attachment;';
    }
    res.writeHead(range ? 206 : 200, headers);
    const length = end - start + 1;
    const sent = options.resetAfter === undefined ? length : Math.min(options.resetAfter, length);
    if (sent > 0) await pipeline(createReadStream(object.file, { start, end: start + sent - 1 }), res, { end: false });
    if (sent < length && options.stall) await new Promise((resolve) => res.once('close', resolve));
    else if (sent < length) res.destroy();
    else res.end();
  }

  #newFile(): string {
    return join(this.#dir, randomUUID());
  }

  #store(
    bucket: Bucket,
    key: string,
    content: Pick<StoredObject, 'file' | 'size' | 'etag' | 'contentType' | 'cacheControl'>,
  ): StoredObject {
    const now = new Date().toISOString();
    const previous = bucket.objects.get(key);
    if (previous) void unlink(previous.file).catch(() => undefined);
    const stored: StoredObject = {
      ...content,
      id: previous?.id ?? randomUUID(),
      version: randomUUID(),
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
    };
    bucket.objects.set(key, stored);
    return stored;
  }
}

function sendBody(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': typeof body === 'string' ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) return body as Record<string, unknown>;
  } catch {
    // Answered below, as Fastify does for a body it cannot parse.
  }
  throw failures.invalidRequest('Body is not valid JSON');
}

/** Streams `source` into `sink`, measuring its size and MD5 (Storage's ETag for a simple upload). */
async function measure(source: Readable, sink: Writable): Promise<{ size: number; etag: string }> {
  const md5 = createHash('md5');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      md5.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  await pipeline(source, meter, sink);
  return { size, etag: `"${md5.digest('hex')}"` };
}

interface ByteRange {
  start: number;
  end: number;
}

/** One `bytes=` range, as S3 honours it; anything else is ignored and the whole object sent. */
function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header) : null;
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  const [, from, to] = match;
  const start = from === '' ? Math.max(0, size - Number(to)) : Number(from);
  const end = from === '' || to === '' ? size - 1 : Math.min(Number(to), size - 1);
  return start > end || start >= size ? 'unsatisfiable' : { start, end };
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw failures.invalidRequest('Malformed URL encoding');
  }
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

const base64url = (text: string): string => Buffer.from(text).toString('base64url');

const hmac = (secret: string, data: string): string => createHmac('sha256', secret).update(data).digest('base64url');

function signJwt(payload: Record<string, unknown>, secret: string): string {
  const signed = `${base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${base64url(JSON.stringify(payload))}`;
  return `${signed}.${hmac(secret, signed)}`;
}

/** HS256 verification with the messages `jose` gives, which Storage passes on. */
function verifyJwt(token: string, secret: string): Record<string, unknown> {
  const [header, payload, signature, ...rest] = token.split('.');
  if (header === undefined || payload === undefined || signature === undefined || rest.length > 0) {
    throw new Error('Invalid Compact JWS');
  }
  // Compared as decoded bytes, like jose: base64url's unused trailing bits do not count.
  const given = Buffer.from(signature, 'base64url');
  const expected = Buffer.from(hmac(secret, `${header}.${payload}`), 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new Error('signature verification failed');
  }
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw new Error('JWT Claims Set must be a top-level JSON object');
  }
  if (typeof claims !== 'object' || claims === null) throw new Error('JWT Claims Set must be a top-level JSON object');
  const { exp } = claims as { exp?: unknown };
  if (typeof exp === 'number' && exp <= nowSeconds()) throw new Error('"exp" claim timestamp check failed');
  return claims as Record<string, unknown>;
}

function sameString(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
