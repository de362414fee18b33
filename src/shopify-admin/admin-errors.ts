/**
 * Why an Admin API call failed, and whether trying again can help: the reconciliation activity
 * maps `retryable` to its retry policy once. Messages name the shop and the HTTP status, never the token.
 */
export class ShopifyAdminError extends Error {
  override readonly name = 'ShopifyAdminError';

  constructor(
    /**
     * `unavailable` (5xx, network, timeout, an order gone while its line items were read), `unauthorized` (401/403: the token),
     * `too_costly` (`MAX_COST_EXCEEDED`: the query's price is above Shopify's cap, the same on every try), `rejected` (anything
     * else Shopify refused).
     */
    readonly kind: 'unavailable' | 'unauthorized' | 'too_costly' | 'rejected',
    message: string,
  ) {
    super(message);
  }

  get retryable(): boolean {
    return this.kind === 'unavailable';
  }
}
