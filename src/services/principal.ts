/** Who is calling: an operator (scope `*`) or a merchant limited to one shop (its domain). */
export interface Principal {
  scope: string;
}

export const canAccessShop = (principal: Principal, shopId: string): boolean => principal.scope === '*' || principal.scope === shopId;
