import { Agent, fetch as undiciFetch } from 'undici';

/**
 * A `fetch` that gives up on a server that stops answering, with undici's own timeouts: the
 * request fails when connecting or the response's headers take longer than `idleMs`, or when
 * its body delivers no bytes for `idleMs`. A large download is never cut short while bytes keep
 * coming, and the caller's own signal still aborts it. Without this, a storage that accepts a
 * connection and then goes silent would hold an activity (and its worker slot) until Temporal's
 * heartbeat timeout, and the abandoned request for ever.
 *
 * undici's `fetch`, not the global one: Node's bundled undici is another copy, which need not
 * accept this package's `Agent` as its dispatcher.
 */
export function idleTimeoutFetch(idleMs: number): typeof fetch {
  const dispatcher = new Agent({ connect: { timeout: idleMs }, headersTimeout: idleMs, bodyTimeout: idleMs });
  return ((input: string | URL, init?: Parameters<typeof undiciFetch>[1]) =>
    undiciFetch(input, { ...init, dispatcher })) as unknown as typeof fetch;
}
