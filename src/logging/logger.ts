import pino, { type DestinationStream, type Logger } from 'pino';

/** Names whose values never reach a log line: credentials under any of their names, and the configuration's secrets. */
const SECRET_KEYS = [
  'authorization',
  'token',
  'tokens',
  'secret',
  'secrets',
  'signature',
  'apiKey',
  'api_key',
  'serviceKey',
  'password',
  'signingSecret',
  'API_TOKENS',
  'SHOPIFY_WEBHOOK_SECRETS',
  'SUPABASE_SERVICE_ROLE_KEY',
  'POSTHOG_API_KEY',
  'TEMPORAL_API_KEY',
  'LOCAL_SIGNING_SECRET',
  'DATABASE_URL',
  'SHOPIFY_ADMIN_TOKENS',
  'accessToken',
  'access_token',
];

/**
 * Where those names are censored: at the top of a log line, and inside a logged error (`err`,
 * or `error` as the Temporal SDK's own log lines name it) and one level below it (a client's
 * options, a cause), which is where log calls nest anything. Not under every key at every
 * depth: pino walks each log line once per wildcard path, and `*.key` plus `*.*.key` for these
 * names cost a request's log line 50–110 µs against ~4 µs now, more than the rest of its logging.
 * Headers are never logged (the API's request serializer drops them); their paths are a net.
 */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-shopify-hmac-sha256"]',
  'req.headers["x-api-key"]',
  'req.headers.apikey',
  'headers.authorization',
  'headers["x-shopify-hmac-sha256"]',
  'headers["x-shopify-access-token"]',
  ...SECRET_KEYS.flatMap((key) => [key, `err.${key}`, `err.*.${key}`, `error.${key}`, `error.*.${key}`]),
];

export type { Logger };

/** pino's redaction options, for a logger and for a child that must redact whatever logger it was given. */
export const redaction = { paths: REDACTED_PATHS, censor: '[redacted]' };

/** Lines waiting for a stdout whose reader has stalled, at most; later lines are dropped. */
const STDOUT_BUFFER_BYTES = 16 * 1024 * 1024;

/** At exit, how long the lines still waiting may wait for a stalled reader before they are dropped. */
const EXIT_FLUSH_MS = 2_000;

/**
 * stdout as pino writes it by default (asynchronously), made safe for a service. pino stops
 * logging on EPIPE but lets any other write error (a full disk, a closed terminal) end the
 * process, whose exit hook then retries the write forever; it retries as long for a reader
 * that has stalled. Here any write error stops logging, said once on stderr, a stalled reader
 * costs bounded memory, and at exit it holds the process for at most `EXIT_FLUSH_MS`.
 */
function stdoutDestination(): DestinationStream {
  let exitFlushDeadline = Number.POSITIVE_INFINITY;
  const stream = pino.destination({
    dest: process.stdout.fd,
    sync: false,
    maxLength: STDOUT_BUFFER_BYTES,
    // A full pipe (EAGAIN) is waited out while the process runs; at exit, only until the deadline.
    retryEAGAIN: () => Date.now() < exitFlushDeadline,
  });
  let stopped = false;
  const stop = (error: NodeJS.ErrnoException): void => {
    if (stopped) return;
    stopped = true;
    const noop = () => undefined;
    Object.assign(stream, { write: () => true, flush: (done?: (error?: Error) => void) => done?.(), flushSync: noop, end: noop });
    try {
      process.stderr.write(`logging stopped: stdout failed (${error.code ?? error.message})\n`);
    } catch {
      // stderr may be gone too; nothing else can be told.
    }
  };
  stream.on('error', stop);
  // pino's exit hook flushes with this: what cannot be written by the deadline is dropped.
  const flushSync = stream.flushSync.bind(stream);
  stream.flushSync = () => {
    exitFlushDeadline = Date.now() + EXIT_FLUSH_MS;
    try {
      flushSync();
    } catch (error) {
      stop(error as NodeJS.ErrnoException);
    } finally {
      exitFlushDeadline = Number.POSITIVE_INFINITY;
    }
  };
  return stream;
}

/**
 * An error as a log line shows it: its type, message (with its causes'), code and other
 * fields, each cause's type, code and status, and never a stack trace, its own, a cause's, or
 * a Temporal failure's `stackTrace`: no log line may carry one. Fields are copied, never
 * deleted from the error logged.
 */
function errorWithoutStacks(error: unknown): unknown {
  const serialized = withoutStacks(pino.stdSerializers.err(error as Error), new WeakSet(), 0);
  if (!(error instanceof Error) || typeof serialized !== 'object' || serialized === null) return serialized;
  const causes = causesOf(error);
  return { ...serialized, ...failureType(error), ...(causes.length > 0 ? { causes } : {}) };
}

/** pino's `type` is the class; an ApplicationFailure's own type (the reason) would be lost. */
const failureType = (error: Error): { failure_type?: string } => {
  const type = (error as { type?: unknown }).type;
  return typeof type === 'string' ? { failure_type: type } : {};
};

/** The causes a line lists: the first few say where a failure came from; a long chain would bloat it. */
const MAX_CAUSES = 5;

/** pino keeps only a cause's message, folded into the error's: each cause's class, code and status too. */
function causesOf(error: Error): Record<string, unknown>[] {
  const causes: Record<string, unknown>[] = [];
  const seen = new Set<unknown>([error]);
  for (let cause = error.cause; cause instanceof Error && !seen.has(cause) && causes.length < MAX_CAUSES; cause = cause.cause) {
    seen.add(cause);
    const { code, status, statusCode } = cause as { code?: unknown; status?: unknown; statusCode?: unknown };
    causes.push({ type: cause.constructor.name, message: cause.message, ...failureType(cause), code, status, statusCode });
  }
  return causes;
}

const STACK_KEYS = new Set(['stack', 'stackTrace']);

function withoutStacks(value: unknown, seen: WeakSet<object>, depth: number): unknown {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return value;
  if (seen.has(value)) return '[Circular]';
  if (depth > 8) return '[Object]';
  // Objects on the path down: a cycle, not an object met twice side by side.
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => withoutStacks(item, seen, depth + 1));
    const copy: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) {
      if (!STACK_KEYS.has(key)) copy[key] = withoutStacks(field, seen, depth + 1);
    }
    return copy;
  } finally {
    seen.delete(value);
  }
}

/** `err` as the service's own lines name an error, `error` as the Temporal SDK's do. */
const serializers = { err: errorWithoutStacks, error: errorWithoutStacks };

export function createLogger(options: { level: string; name: string }, destination?: DestinationStream): Logger {
  return pino(
    {
      name: options.name,
      level: options.level,
      redact: redaction,
      serializers,
    },
    destination ?? stdoutDestination(),
  );
}
