import { createRequire } from 'node:module';
import type { Resource } from '@opentelemetry/resources';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { StartupError } from '../../entry/startup-error.js';

/** What the worker's workflow span exporter needs, and how to flush at exit. */
export interface Tracing {
  resource: Resource;
  spanProcessor: SpanProcessor;
  shutdown(): Promise<void>;
}

type Env = Record<string, string | undefined>;

/** A variable's value, an empty one counting as unset (as the OpenTelemetry SDK reads them). */
const setting = (env: Env, name: string): string | undefined => {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
};

/**
 * Where traces go: the traces endpoint as given, or the base endpoint with `/v1/traces`, as the
 * specification derives it; none, tracing is off.
 */
const tracesUrl = (env: Env): string | undefined =>
  setting(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? setting(env, 'OTEL_EXPORTER_OTLP_ENDPOINT')?.replace(/\/*$/, '/v1/traces');

/** Tracing is on when an OTLP endpoint is configured, by the standard variables only. */
export const tracingConfigured = (env: Env = process.env): boolean => tracesUrl(env) !== undefined;

const PROTOCOLS = ['http/protobuf', 'http/json'] as const;

/** The OTLP exporter of the configured protocol; headers and timeouts it reads itself. */
async function traceExporter(env: Env, url: string): Promise<SpanExporter> {
  const protocol = setting(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ?? setting(env, 'OTEL_EXPORTER_OTLP_PROTOCOL') ?? 'http/protobuf';
  if (protocol === 'http/json') return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter({ url });
  if (protocol === 'http/protobuf') return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter({ url });
  throw new StartupError(`OTEL_EXPORTER_OTLP_PROTOCOL: ${protocol} is not supported; use ${PROTOCOLS.join(' or ')}.`);
}

/**
 * Starts OpenTelemetry (HTTP and pg instrumentation, OTLP export) when configured;
 * otherwise loads nothing and returns undefined. Call it before the API or the worker starts,
 * so the HTTP server and the database client are instrumented.
 */
export async function startTracing(env: Env = process.env): Promise<Tracing | undefined> {
  const url = tracesUrl(env);
  if (url === undefined) return undefined;
  const [{ NodeSDK }, { BatchSpanProcessor }, { Resource }, { HttpInstrumentation }, { PgInstrumentation }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-pg'),
  ]);
  const serviceName = setting(env, 'OTEL_SERVICE_NAME') ?? 'printready';
  const resource = new Resource({ 'service.name': serviceName });
  const spanProcessor = new BatchSpanProcessor(await traceExporter(env, url));
  const sdk = new NodeSDK({
    serviceName,
    spanProcessors: [spanProcessor],
    // instrumentation-fastify patches `require('fastify')`, which an ESM import never passes
    // through; the metrics plugin names the HTTP server span by its route instead.
    instrumentations: [new HttpInstrumentation(), new PgInstrumentation()],
  });
  sdk.start();
  // The instrumentations patch a module when it is next required: `http` and `pg` may have
  // been loaded already (ESM imports do not pass through require), so ask for them once now.
  const require = createRequire(import.meta.url);
  require('node:http');
  require('pg');
  return { resource, spanProcessor, shutdown: () => sdk.shutdown() };
}
