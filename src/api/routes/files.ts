import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parseRangeHeader, type ByteRangeSpec } from '../../storage/byte-range.js';
import { verifyLocalUrl } from '../../storage/local/local-signature.js';
import type { ObjectStorage } from '../../storage/object-storage.js';
import { StorageError } from '../../storage/storage-error.js';
import { ERRORS } from '../../services/errors.js';
import { failure } from '../schemas.js';

/** What the files route needs from the local backend. */
export type LocalFileSource = Pick<ObjectStorage, 'stat' | 'read'>;

export interface FileRoutesOptions {
  source: LocalFileSource;
  /** As configured: during a rotation (`new,old`) a URL signed with any of them verifies. */
  signingSecret: string;
  now: () => number;
}

// Strict: a parameter added to a signed URL alters it, and an altered URL fails.
const querySchema = z.strictObject({
  expires: z.string().optional().describe('Unix seconds after which the URL stops working'),
  download: z.string().optional().describe('Attachment file name, when one was signed'),
  signature: z.string().optional().describe('base64url HMAC-SHA256 over bucket, path, expires and download'),
});

const paramsSchema = z.object({ '*': z.string().describe('<bucket>/<path> of the object') });

/** Final assets are stored as `<sha256>.<ext>`: the name is the content, a strong validator. */
const CONTENT_ADDRESSED = /(?:^|\/)([0-9a-f]{64})\.[a-z0-9]+$/;

const invalidSignature = ERRORS.invalidSignature;

/**
 * `GET|HEAD /files/<bucket>/<path>?expires&download&signature`: the local backend's signed
 * URLs. Tampered or malformed → 403 `invalid_signature`; genuinely expired → 410 `url_expired`
 * (the signature is checked first, so a forged `expires` is a 403, never a 410).
 */
export const fileRoutes: FastifyPluginAsyncZod<FileRoutesOptions> = async (app, { source, signingSecret, now }) => {
  app.route({
    method: ['GET', 'HEAD'],
    url: '/files/*',
    config: { validationError: { status: 403, code: 'invalid_signature', message: 'The URL is not valid' } },
    schema: {
      tags: ['files'],
      summary: 'A stored object, through a signed URL (local storage backend only)',
      description: 'Handed out by the signed-url route. Works with a plain GET until `expires`; altering any part fails.',
      params: paramsSchema,
      querystring: querySchema,
      response: {
        200: z.any().describe('The object bytes, with Content-Type, Content-Length and ETag'),
        206: z.any().describe('The bytes of a single `Range` (a resumed download), with Content-Range'),
        304: z.any().describe('Not modified (If-None-Match)'),
        403: failure('invalid_signature: altered, malformed or not signed'),
        404: failure('not_found: the object is gone'),
        410: failure('url_expired'),
        416: failure('range_not_satisfiable: the range selects no byte of the object'),
      },
    },
    handler: async (request, reply) => {
      const target = request.params['*'];
      const slash = target.indexOf('/');
      const verdict = verifyLocalUrl(
        {
          bucket: slash < 0 ? target : target.slice(0, slash),
          path: slash < 0 ? '' : target.slice(slash + 1),
          expires: request.query.expires,
          download: request.query.download,
          signature: request.query.signature,
        },
        signingSecret,
        now(),
      );
      if (!verdict.ok) {
        if (verdict.reason === 'expired') throw ERRORS.urlExpired();
        throw invalidSignature();
      }
      const { ref } = verdict;

      const etag = CONTENT_ADDRESSED.exec(ref.path)?.[1];
      const headers: Record<string, string> = {
        'accept-ranges': 'bytes',
        'cache-control': 'private, no-store',
        'x-content-type-options': 'nosniff',
      };
      if (etag) headers.etag = `"${etag}"`;
      if (verdict.download) headers['content-disposition'] = `attachment; filename="${verdict.download}"`;

      if (request.method === 'HEAD' || (etag && ifNoneMatch(request.headers['if-none-match'], etag))) {
        const stat = await source.stat(ref).catch(asHttpError);
        headers['content-type'] = stat.content_type ?? 'application/octet-stream';
        if (request.method === 'HEAD') {
          headers['content-length'] = String(stat.size_bytes);
          return reply.code(200).headers(headers).send();
        }
        return reply.code(304).headers(headers).send();
      }
      const object = await source.read(ref, requestedRange(request.headers, etag)).catch(asHttpError);
      headers['content-type'] = object.content_type ?? 'application/octet-stream';
      if (object.range === null) {
        const contentRange = { 'content-range': `bytes */${object.size_bytes}` };
        const details = { size_bytes: object.size_bytes };
        throw ERRORS.rangeNotSatisfiable(details, contentRange);
      }
      if (object.range) {
        const { start, end } = object.range;
        headers['content-range'] = `bytes ${start}-${end}/${object.size_bytes}`;
        headers['content-length'] = String(end - start + 1);
        return reply.code(206).headers(headers).send(object.body);
      }
      headers['content-length'] = String(object.size_bytes);
      return reply.code(200).headers(headers).send(object.body);
    },
  });
};

/** A storage failure as the API states it: no such object, or storage unavailable. */
function asHttpError(error: unknown): never {
  if (error instanceof StorageError && error.kind !== 'transient') throw ERRORS.objectNotFound();
  if (error instanceof StorageError) throw ERRORS.storageUnavailable();
  throw error;
}

/**
 * The single range a GET asks for, when it may have it: an `If-Range` must name the object's
 * ETag, so a resumed download of an object that has since changed gets the whole new one.
 */
function requestedRange(headers: { range?: string; 'if-range'?: string }, etag: string | undefined): ByteRangeSpec | undefined {
  const ifRange = headers['if-range'];
  if (ifRange !== undefined && (etag === undefined || ifRange.trim() !== `"${etag}"`)) return undefined;
  return parseRangeHeader(headers.range);
}

function ifNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((candidate) => {
    const value = candidate.trim().replace(/^W\//, '');
    return value === '*' || value === `"${etag}"`;
  });
}
