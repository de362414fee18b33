/** Who is calling: an operator (`*`) or a merchant limited to one shop. */
export interface Principal {
  scope: '*' | string;
}

export const canAccessShop = (principal: Principal, shopId: string): boolean =>
  principal.scope === '*' || principal.scope === shopId;
