import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { FastifySwaggerUiOptions } from '@fastify/swagger-ui';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';

/** Where the API reference lives: the page at `/docs`, the document at `/docs/json` and `/docs/yaml`. */
export const DOCS_PREFIX = '/docs';

/**
 * The page loads only what this server serves (swagger-ui's own files, its logo as a data URL),
 * and says so to the browser: nothing on it can reach another origin.
 */
const DOCS_CSP = {
  'default-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  // swagger-ui's React components set inline style attributes.
  'style-src': ["'self'", "'unsafe-inline'"],
  'script-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'self'"],
  'frame-ancestors': ["'none'"],
};

/**
 * The contract's `GET /docs` is the OpenAPI document, and people open `/docs` in a browser: a
 * client gets the page when its `Accept` prefers `text/html` (every browser's does), and the
 * document otherwise (`application/json`, `*\/*`, or no `Accept` at all).
 */
export function prefersHtml(accept: string | undefined): boolean {
  return weight(accept, 'text/html') > weight(accept, 'application/json');
}

/** The q-value `accept` gives `type`: the most specific range that matches it wins. */
function weight(accept: string | undefined, type: string): number {
  const [major] = type.split('/');
  let best = { specificity: -1, q: 0 };
  for (const part of (accept ?? '').split(',')) {
    const [range = '', ...params] = part.trim().toLowerCase().split(';');
    const specificity = range === type ? 2 : range === `${major}/*` ? 1 : range === '*/*' ? 0 : -1;
    if (specificity <= best.specificity) continue;
    const q = params.map((param) => /^\s*q=([\d.]+)\s*$/.exec(param)?.[1]).find((value) => value !== undefined);
    best = { specificity, q: q === undefined ? 1 : Number(q) };
  }
  return best.q;
}

const PAGE_URLS = new Set([DOCS_PREFIX, `${DOCS_PREFIX}/`]);

/** swagger-ui's hook on its own routes: the page's URL answers the document unless HTML is preferred. */
function documentUnlessHtml(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  if (!PAGE_URLS.has(request.routeOptions.url ?? '')) {
    done();
    return;
  }
  reply.header('vary', 'Accept');
  if (prefersHtml(request.headers.accept)) done();
  else void reply.type('application/json; charset=utf-8').send(this.swagger());
}

/** The OpenAPI document (@fastify/swagger), generated from the routes' zod schemas. */
export const openApiOptions: FastifyDynamicSwaggerOptions = {
  openapi: {
    openapi: '3.1.0',
    info: {
      title: 'printready',
      description: "Turns a Shopify buyer's personalization preview into the durable, print-ready asset of their order line.",
      version: '0.1.0',
    },
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'API_TOKENS: scope * (operator) or one shop_id (merchant)' },
        shopifyHmac: { type: 'apiKey', in: 'header', name: 'X-Shopify-Hmac-Sha256', description: 'base64 HMAC-SHA256 of the raw body' },
      },
    },
  },
  transform: jsonSchemaTransform,
  transformObject: (document) => optionalNullableBodies(jsonSchemaTransformObject(document)),
};

/** swagger-ui's page over the document, with its own static files: no CDN. */
export const docsPageOptions: FastifySwaggerUiOptions = {
  routePrefix: DOCS_PREFIX,
  staticCSP: DOCS_CSP,
  uiHooks: { onRequest: documentUnlessHtml },
  theme: { title: 'printready API' },
};

/**
 * @fastify/swagger marks every request body required; a body schema that accepts null (the
 * signed-url options) is optional on the wire, and the document says so.
 */
function optionalNullableBodies<T>(document: T): T {
  const paths = (document as { paths?: Record<string, Record<string, { requestBody?: OpenApiBody }>> }).paths ?? {};
  for (const operation of Object.values(paths).flatMap((methods) => Object.values(methods))) {
    const body = operation.requestBody;
    const schema = body?.content?.['application/json']?.schema;
    if (body && schema?.anyOf?.some((option) => option.type === 'null')) body.required = false;
  }
  return document;
}

interface OpenApiBody {
  required?: boolean;
  content?: Record<string, { schema?: { anyOf?: { type?: unknown }[] } }>;
}
