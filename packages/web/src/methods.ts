/** The methods the page offers, in the order of its select, with their labels (no imports: the page's main script takes this). */
export const PAGE_METHODS = {
  lewel_b: 'LEWEL_B (BYOL + LEWEL)',
  byol: 'BYOL',
  moco: 'MoCo v2',
  lewel_m: 'LEWEL_M (MoCo v2 + LEWEL)',
} as const;
export type PageMethod = keyof typeof PAGE_METHODS;

export const isPageMethod = (name: string): name is PageMethod => Object.hasOwn(PAGE_METHODS, name);
