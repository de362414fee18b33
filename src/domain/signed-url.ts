/**
 * How long a signed URL may work, in seconds: a minute at least, and up to a week, since a
 * print supplier may fetch a file a day or more after hand-off. The default is configured
 * (`SIGNED_URL_TTL_SECONDS`) within these bounds.
 */
export const SIGNED_URL_TTL_BOUNDS = { min: 60, max: 604_800 } as const;
