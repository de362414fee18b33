import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';

/** One span as the receiver keeps it: ids as hex, whatever the wire format. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
}

interface ProtoRoot {
  opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: { decode(bytes: Uint8Array): unknown } } } } } };
}
// The exporter's own generated protobuf root (protobufjs), to read what it sends.
const root = createRequire(import.meta.url)('@opentelemetry/otlp-transformer/build/src/generated/root.js') as ProtoRoot;
const { ExportTraceServiceRequest } = root.opentelemetry.proto.collector.trace.v1;

interface WireSpan {
  traceId: string | Uint8Array;
  spanId: string | Uint8Array;
  parentSpanId?: string | Uint8Array | null;
  name: string;
  kind: number;
  attributes?: { key: string; value: Record<string, unknown> }[];
}
interface WireRequest {
  resourceSpans?: { scopeSpans?: { spans?: WireSpan[] }[] }[];
}

/** JSON carries ids as hex strings (OTLP/JSON), protobuf as bytes. */
const hex = (id: string | Uint8Array | null | undefined): string =>
  id == null ? '' : typeof id === 'string' ? id : Buffer.from(id).toString('hex');

/** A local OTLP/HTTP trace receiver: `POST /v1/traces`, JSON or protobuf. */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly contentTypes = new Set<string>();

  private constructor(private readonly server: Server) {}

  static async start(): Promise<OtlpReceiver> {
    const server = createServer();
    const receiver = new OtlpReceiver(server);
    server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks);
        const type = request.headers['content-type'] ?? '';
        receiver.contentTypes.add(type);
        const decoded = (type.includes('json') ? JSON.parse(body.toString('utf8')) : ExportTraceServiceRequest.decode(body)) as WireRequest;
        receiver.take(decoded);
        response.writeHead(200, { 'content-type': type }).end(type.includes('json') ? '{}' : undefined);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get endpoint(): string {
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('receiver not listening');
    return `http://127.0.0.1:${address.port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private take(request: WireRequest): void {
    for (const scope of (request.resourceSpans ?? []).flatMap((resource) => resource.scopeSpans ?? [])) {
      for (const span of scope.spans ?? []) {
        this.spans.push({
          traceId: hex(span.traceId),
          spanId: hex(span.spanId),
          parentSpanId: hex(span.parentSpanId),
          name: span.name,
          kind: span.kind,
          attributes: Object.fromEntries((span.attributes ?? []).map(({ key, value }) => [key, Object.values(value)[0]])),
        });
      }
    }
  }
}
