import { SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { ObjectStorage } from '../../storage/object-storage.js';

const tracer = trace.getTracer('printready-storage');

/** Runs one storage call in a span of its own, child of the activity's, ended when the call settles. */
function inSpan<T>(name: string, attributes: Record<string, string>, call: () => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, async (span: Span) => {
    try {
      return await call();
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}

/**
 * The storage with a span per call (`storage.copyVerified`, …), bucket and backend as attributes,
 * never a path (it names the shop's line) nor a URL. For a traced worker: the backend's own
 * requests (Supabase's `fetch`) carry no instrumentation of theirs, so these are its spans.
 */
export function tracedStorage(storage: ObjectStorage): ObjectStorage {
  const backend = { 'storage.backend': storage.kind };
  const at = (bucket: string) => ({ ...backend, 'storage.bucket': bucket });
  return {
    kind: storage.kind,
    stat: (ref) => inSpan('storage.stat', at(ref.bucket), () => storage.stat(ref)),
    inspect: (ref, options) => inSpan('storage.inspect', at(ref.bucket), () => storage.inspect(ref, options)),
    read: (ref, range) => inSpan('storage.read', at(ref.bucket), () => storage.read(ref, range)),
    copy: (from, to, expected, options) =>
      inSpan('storage.copy', { ...at(from.bucket), 'storage.destination_bucket': to.bucket }, () =>
        storage.copy(from, to, expected, options),
      ),
    copyVerified: (from, into, place, options) =>
      inSpan('storage.copyVerified', { ...at(from.bucket), 'storage.destination_bucket': into.bucket }, () =>
        storage.copyVerified(from, into, place, options),
      ),
    remove: (ref) => inSpan('storage.remove', at(ref.bucket), () => storage.remove(ref)),
    // A listing is an iterator read page by page, each page followed by its own traced removal.
    list: (folder) => storage.list(folder),
    removeMany: (bucket, paths) => inSpan('storage.removeMany', at(bucket), () => storage.removeMany(bucket, paths)),
    signedUrl: (ref, options) => inSpan('storage.signedUrl', at(ref.bucket), () => storage.signedUrl(ref, options)),
    ensureBucket: (bucket) => inSpan('storage.ensureBucket', at(bucket), () => storage.ensureBucket(bucket)),
  };
}
