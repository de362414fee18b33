/** How the Supabase backend talks to Storage: through storage-js where it can, directly where 2.109 cannot (copy with metadata, ranged reads). */
import { StorageApiError } from '@supabase/storage-js';
import { classifySupabaseError } from './supabase-errors.js';

/** Where Storage answers, with the service key, through the idle-timeout fetch. */
export interface Endpoint {
  url: string;
  headers: Record<string, string>;
  fetch: typeof fetch;
}

/** storage-js answers `{ data, error }` instead of throwing. */
type Answer<T> = { data: T; error: null } | { data: null; error: Error };

interface SendOptions {
  method: string;
  headers?: Record<string, string>;
  json?: unknown;
  signal?: AbortSignal;
}

/**
 * Asks storage-js and classifies a failure, thrown or answered, once; an abort stays an abort.
 * (`NonNullable` undoes the `null` that inference picks up from the failure branch's `data`.)
 */
export async function ask<T>(
  what: string,
  signal: AbortSignal | undefined,
  request: () => PromiseLike<Answer<NonNullable<T>>>,
): Promise<NonNullable<T>> {
  let answer: Answer<NonNullable<T>>;
  try {
    answer = await request();
  } catch (error) {
    signal?.throwIfAborted();
    throw classifySupabaseError(error, what);
  }
  if (answer.error) {
    signal?.throwIfAborted();
    throw classifySupabaseError(answer.error, what);
  }
  return answer.data;
}

/**
 * A request storage-js 2.109 cannot make, answered as storage-js answers: a refusal becomes a
 * `StorageApiError` whose `statusCode` is the body's `statusCode`, else its `code`, else the
 * HTTP status; then classified like every other failure.
 */
export async function send(
  endpoint: Endpoint,
  what: string,
  path: string,
  { method, headers = {}, json, signal }: SendOptions,
): Promise<Response> {
  let response: Response;
  try {
    response = await endpoint.fetch(`${endpoint.url}${path}`, {
      method,
      headers: { ...endpoint.headers, ...(json === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    signal?.throwIfAborted();
    throw classifySupabaseError(error, what);
  }
  if (response.ok) return response;
  const body = (await response.json().catch(() => null)) as { statusCode?: string; code?: string; message?: string } | null;
  const statusCode = body?.statusCode ?? body?.code ?? String(response.status);
  const refusal = new StorageApiError(body?.message ?? `HTTP ${response.status} error`, response.status, statusCode);
  throw classifySupabaseError(refusal, what);
}
