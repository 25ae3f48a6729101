// The products view's state lives in the URL (shareable, Back/Forward work): this module
// reads it from the query string, leniently (a hand-edited URL falls back to defaults), and
// writes it back with defaults left out, so `/products` is the plain first page.

export const SORT_FIELDS = ['id', 'sku', 'name', 'price', 'created_at', 'updated_at'] as const;
export type SortField = (typeof SORT_FIELDS)[number];
export type SortOrder = 'asc' | 'desc';
export type ActiveFilter = 'all' | 'true' | 'false';

export const PAGE_SIZES = [20, 50, 100] as const;
const DEFAULT_PAGE_SIZE = 20;
/** The API's own limit on `page`. */
const MAX_PAGE = 10_000_000;
/** The API's limit on text filters. */
export const FILTER_MAX_LENGTH = 255;

export interface ProductsQuery {
  q: string;
  sku: string;
  active: ActiveFilter;
  sort: SortField;
  order: SortOrder;
  page: number;
  pageSize: number;
}

export const DEFAULT_QUERY: ProductsQuery = {
  q: '',
  sku: '',
  active: 'all',
  sort: 'id',
  order: 'asc',
  page: 1,
  pageSize: DEFAULT_PAGE_SIZE,
};

function positiveInteger(text: string | undefined, fallback: number, max: number): number {
  if (!text || !/^\d+$/.test(text)) return fallback;
  const value = Number(text);
  return value >= 1 && value <= max ? value : fallback;
}

const isSortField = (text: string | undefined): text is SortField => SORT_FIELDS.includes(text as SortField);

export function parseProductsQuery(params: Record<string, string | undefined>): ProductsQuery {
  const pageSize = Number(params.page_size);
  return {
    q: (params.q ?? '').slice(0, FILTER_MAX_LENGTH),
    sku: (params.sku ?? '').slice(0, FILTER_MAX_LENGTH),
    active: params.active === 'true' || params.active === 'false' ? params.active : 'all',
    sort: isSortField(params.sort) ? params.sort : DEFAULT_QUERY.sort,
    order: params.order === 'desc' ? 'desc' : 'asc',
    page: positiveInteger(params.page, 1, MAX_PAGE),
    pageSize: (PAGE_SIZES as readonly number[]).includes(pageSize) ? pageSize : DEFAULT_PAGE_SIZE,
  };
}

/** The filters and sort, as the API (list and export) names them. */
function filterParams(query: ProductsQuery): URLSearchParams {
  const params = new URLSearchParams();
  if (query.q.trim()) params.set('q', query.q.trim());
  if (query.sku.trim()) params.set('sku', query.sku.trim());
  if (query.active !== 'all') params.set('active', query.active);
  if (query.sort !== DEFAULT_QUERY.sort || query.order !== DEFAULT_QUERY.order) {
    params.set('sort', query.sort);
    params.set('order', query.order);
  }
  return params;
}

/** The view's own URL for a state. */
export function productsUrl(query: ProductsQuery): string {
  const params = filterParams(query);
  if (query.page !== 1) params.set('page', String(query.page));
  if (query.pageSize !== DEFAULT_PAGE_SIZE) params.set('page_size', String(query.pageSize));
  const search = params.toString();
  return search ? `/products?${search}` : '/products';
}

/** The list request's query: filters, sort, and always the page (so it is one cache key per state). */
export function listParams(query: ProductsQuery): URLSearchParams {
  const params = filterParams(query);
  params.set('page', String(query.page));
  params.set('page_size', String(query.pageSize));
  return params;
}

/** The CSV export of what the filters select, in the current order, every page. */
export function exportHref(query: ProductsQuery): string {
  const search = filterParams(query).toString();
  return search ? `/api/products/export?${search}` : '/api/products/export';
}

/** A new state with some fields changed; any change but the page itself goes back to page 1. */
export function withChanges(query: ProductsQuery, changes: Partial<ProductsQuery>): ProductsQuery {
  return { ...query, page: 1, ...changes };
}

/** Clicking a column: first ascending, then descending; another column starts ascending again. */
export function toggledSort(query: ProductsQuery, field: SortField): Pick<ProductsQuery, 'sort' | 'order'> {
  if (query.sort !== field) return { sort: field, order: 'asc' };
  return { sort: field, order: query.order === 'asc' ? 'desc' : 'asc' };
}
