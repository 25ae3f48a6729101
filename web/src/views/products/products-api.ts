// The products endpoints the view calls (API.md, "Products"), typed from the server's schemas.
import { request } from '../../api/client';
import type {
  BulkDeleteBody,
  DeleteSelectedBody,
  DeleteSelectedResponse,
  JobAccepted,
  Product,
  ProductCreate,
  ProductPage,
  ProductUpdate,
} from '../../api/types';
import { listParams, parseProductsQuery, type ProductsQuery } from './products-query';

/** The list answer; `total_exact` is false when the server stopped counting a broad text search. */
export type ProductListPage = ProductPage & { total_exact?: boolean };

/**
 * The first page, asked for as soon as the app's script runs on /products, in parallel with the
 * session check the shell makes before it shows any view (otherwise the list request would wait
 * for it, and for the first render). Used once, by the view's first load of the same query; a
 * refusal (e.g. 401 before sign-in) is not used, and the view then asks again the normal way.
 */
interface EarlyFirstPage {
  params: string;
  page: Promise<ProductListPage | null>;
  /** Set once answered, so the view can show the rows in its very first render. */
  answer?: ProductListPage | null;
}
let earlyFirstPage: EarlyFirstPage | null = null;

export function requestFirstPageEarly(location: Location): void {
  if (location.pathname !== '/products') return;
  const params = listParams(parseProductsQuery(Object.fromEntries(new URLSearchParams(location.search)))).toString();
  const early: EarlyFirstPage = {
    params,
    page: fetch(`/api/products?${params}`, { headers: { accept: 'application/json' }, credentials: 'same-origin' })
      .then((response) => (response.ok ? (response.json() as Promise<ProductListPage>) : null))
      .catch(() => null)
      .then((answer) => (early.answer = answer)),
  };
  earlyFirstPage = early;
}

/** The early first page for this query, once, when it is for this query (else null). */
function takeEarlyFirstPage(query: ProductsQuery): EarlyFirstPage | null {
  const early = earlyFirstPage;
  earlyFirstPage = null;
  return early?.params === listParams(query).toString() ? early : null;
}

/** The early first page if it has already come (for the first render), else null and it stays for listProducts. */
export function answeredFirstPage(query: ProductsQuery): ProductListPage | null {
  if (!earlyFirstPage?.answer) return null;
  return takeEarlyFirstPage(query)?.answer ?? null;
}

export async function listProducts(query: ProductsQuery, signal: AbortSignal): Promise<ProductListPage> {
  const early = takeEarlyFirstPage(query);
  const page = early ? await early.page : null;
  return page ?? request<ProductListPage>(`/api/products?${listParams(query).toString()}`, { signal });
}

export function createProduct(body: ProductCreate): Promise<Product> {
  return request<Product>('/api/products', { method: 'POST', body });
}

export function updateProduct(id: number, body: ProductUpdate): Promise<Product> {
  return request<Product>(`/api/products/${id}`, { method: 'PATCH', body });
}

export function deleteProduct(id: number): Promise<void> {
  return request<void>(`/api/products/${id}`, { method: 'DELETE' });
}

export function deleteSelectedProducts(ids: number[]): Promise<DeleteSelectedResponse> {
  const body: DeleteSelectedBody = { ids };
  return request<DeleteSelectedResponse>('/api/products/delete', { method: 'POST', body });
}

export function startBulkDelete(): Promise<JobAccepted> {
  const body: BulkDeleteBody = { confirm: true };
  return request<JobAccepted>('/api/products/bulk-delete', { method: 'POST', body });
}
