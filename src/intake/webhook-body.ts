import { isLosslessNumber, parse } from 'lossless-json';
import { z } from 'zod';
import { shopifyIdSchema } from '../domain/ids.js';
import { ERRORS } from '../services/errors.js';

// A webhook's JSON body read without losing ids above 2^53 (lossless-json keeps every number's
// decimal text) and checked with zod: a body of the wrong shape is 400 invalid_payload.

/** A Shopify id in a body: a JSON number (exact) or its decimal text. */
export const bodyIdSchema = z
  .custom<unknown>((value) => isLosslessNumber(value) || typeof value === 'string', 'must be a Shopify id')
  .transform((value) => String(value))
  .pipe(shopifyIdSchema);

/** The body as `schema` reads it, or 400 naming the first thing wrong with it. */
export function parseWebhookBody<T>(rawBody: Buffer, schema: z.ZodType<T>, what: string): T {
  let body: unknown;
  try {
    body = parse(rawBody.toString('utf8'));
  } catch {
    throw ERRORS.invalidPayload('The body is not valid JSON');
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw ERRORS.invalidPayload(`The body is not ${what}: ${issue ? `${issue.path.join('.') || '(body)'}: ${issue.message}` : 'invalid'}`);
  }
  return parsed.data;
}
