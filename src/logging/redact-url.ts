import { unescape } from 'node:querystring';

/** Query parameters that are credentials: a signed URL's signature is as good as the file. */
const SECRET_PARAMS = new Set(['signature', 'token', 'apikey', 'api_key']);

const QUERY_PARAM = /([?&])([^=&#?]*)=([^&#]*)/g;

/**
 * A URL (or a message quoting one) with the values of secret query parameters replaced. A
 * name is compared as the query parser reads it, percent-decoded and with `+` as a space, so
 * `%73ignature=` is redacted like `signature=`: the file route would accept it as one.
 */
export const redactUrl = (url: string): string =>
  url.replace(QUERY_PARAM, (param, separator: string, name: string) =>
    SECRET_PARAMS.has(unescape(name.replaceAll('+', ' ')).toLowerCase()) ? `${separator}${name}=[redacted]` : param,
  );
