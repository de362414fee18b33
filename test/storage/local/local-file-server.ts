import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { LOCAL_FILES_PREFIX, verifyLocalUrl } from '../../../src/storage/local/local-signature.js';
import type { ObjectRead, ObjectRef } from '../../../src/storage/object-storage.js';

/**
 * The smallest files route there can be, so tests can GET a local signed URL over HTTP the way
 * a print supplier would: verify with `verifyLocalUrl`, then stream `LocalStorage.read`.
 */
export interface LocalFileServer {
  url: string;
  close(): Promise<void>;
}

type Reader = (ref: ObjectRef) => Promise<ObjectRead>;

export async function startLocalFileServer(secret: string, read: Reader): Promise<LocalFileServer> {
  const server = createServer((req, res) => {
    serve(req, res, secret, read).catch(() => {
      if (res.headersSent) res.destroy();
      else res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, secret: string, read: Reader): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://files');
  if (!url.pathname.startsWith(`${LOCAL_FILES_PREFIX}/`)) {
    res.writeHead(404).end();
    return;
  }
  const [bucket = '', ...path] = url.pathname.slice(LOCAL_FILES_PREFIX.length + 1).split('/');
  const verdict = verifyLocalUrl(
    {
      bucket: decodeURIComponent(bucket),
      path: path.map(decodeURIComponent).join('/'),
      expires: url.searchParams.get('expires') ?? undefined,
      download: url.searchParams.get('download') ?? undefined,
      signature: url.searchParams.get('signature') ?? undefined,
    },
    secret,
  );
  if (!verdict.ok) {
    res.writeHead(403, { 'Content-Type': 'text/plain' }).end(verdict.reason);
    return;
  }
  const object = await read(verdict.ref);
  res.writeHead(200, {
    'Content-Type': object.content_type ?? 'application/octet-stream',
    'Content-Length': object.size_bytes,
    ...(verdict.download === null ? {} : { 'Content-Disposition': `attachment; filename="${verdict.download}"` }),
  });
  if (Buffer.isBuffer(object.body)) res.end(object.body);
  else await pipeline(object.body, res);
}
