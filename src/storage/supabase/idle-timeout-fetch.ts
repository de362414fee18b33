/**
 * A `fetch` that gives up on a server that stops answering: the request is aborted when no
 * response has arrived within `idleMs`, or when its body has delivered no bytes for `idleMs`.
 * A large download is never cut short while bytes keep coming, and the caller's own signal
 * still aborts it. Without this, a storage that accepts a connection and then goes silent
 * would hold an activity (and its worker slot) until Temporal's heartbeat timeout, and the
 * abandoned request for ever. (Meant for requests with small bodies: the clock runs while a
 * request body is being sent.)
 */
export function idleTimeoutFetch(idleMs: number, base: typeof fetch = fetch): typeof fetch {
  return async (input, init = {}) => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`storage sent nothing for ${idleMs} ms`)), idleMs);
    // Never what keeps a process alive: it only ever ends a request that is still running.
    timer.unref();
    const signal = init.signal ? AbortSignal.any([init.signal, controller.signal]) : controller.signal;
    let response: Response;
    try {
      response = await base(input, { ...init, signal });
    } catch (error) {
      clearTimeout(timer);
      throw error;
    }
    if (!response.body) {
      clearTimeout(timer);
      return response;
    }
    timer.refresh();
    const body = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, stream) {
          timer.refresh();
          stream.enqueue(chunk);
        },
        flush() {
          clearTimeout(timer);
        },
      }),
    );
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}
