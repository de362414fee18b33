import { connect, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../src/services/errors.js';
import { useHostileApp } from '../../support/hostile-app.js';

/** Hostile input on the HTTP parser (see `useHostileApp`): 2xx or a 4xx envelope, never a 5xx. */
const hostile = useHostileApp();

describe('hostile input: the HTTP parser', () => {
  it('answers requests the HTTP parser refuses with the envelope, then closes the connection', async () => {
    await hostile.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = hostile.app.server.address() as AddressInfo;
    /** Sends raw bytes and reads the answer until the server closes the connection. */
    const exchange = (bytes: string) =>
      new Promise<string>((resolve, reject) => {
        const chunks: Buffer[] = [];
        const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
        socket.on('data', (chunk: Buffer) => chunks.push(chunk));
        socket.on('error', reject);
        socket.setTimeout(10_000, () => socket.destroy(new Error('the server kept the connection open')));
        socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      });
    const answers = [
      {
        status: 431,
        code: 'headers_too_large',
        raw: await exchange(`GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'a'.repeat(20_000)}\r\n\r\n`),
      },
      { status: 400, code: 'invalid_request', raw: await exchange('GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n') },
      { status: 400, code: 'invalid_request', raw: await exchange('NOT AN HTTP REQUEST\r\n\r\n') },
      // Headers that never end: a slow-loris hostile.client.
      { status: 408, code: 'request_timeout', raw: await exchange('GET /healthz HTTP/1.1\r\nHost: x\r\n') },
    ];
    for (const { status, code, raw } of answers) {
      const [head = '', body = ''] = raw.split('\r\n\r\n');
      expect(head, raw).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(head.toLowerCase()).toContain('content-type: application/json');
      expect(JSON.parse(body)).toEqual({ error: { code, message: expect.any(String) as unknown, details: null } });
      expect(ERROR_CODES).toContain(code);
    }
  });
});
