/**
 * Why an Admin API call failed, and whether trying again can help: the reconciliation activity
 * maps `retryable` to its retry policy once. Messages name the shop and the HTTP status, never the token.
 */
export class ShopifyAdminError extends Error {
  override readonly name = 'ShopifyAdminError';

  constructor(
    /** `unavailable` (5xx, network, timeout), `unauthorized` (401/403: the token), `rejected` (anything else Shopify refused). */
    readonly kind: 'unavailable' | 'unauthorized' | 'rejected',
    message: string,
  ) {
    super(message);
  }

  get retryable(): boolean {
    return this.kind === 'unavailable';
  }
}
