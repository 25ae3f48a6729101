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
let earlyFirstPage: { params: string; page: Promise<ProductListPage | null> } | null = null;

export function requestFirstPageEarly(location: Location): void {
  if (location.pathname !== '/products') return;
  const params = listParams(parseProductsQuery(Object.fromEntries(new URLSearchParams(location.search)))).toString();
  const page = fetch(`/api/products?${params}`, { headers: { accept: 'application/json' }, credentials: 'same-origin' })
    .then((response) => (response.ok ? (response.json() as Promise<ProductListPage>) : null))
    .catch(() => null);
  earlyFirstPage = { params, page };
}

export async function listProducts(query: ProductsQuery, signal: AbortSignal): Promise<ProductListPage> {
  const params = listParams(query).toString();
  const early = earlyFirstPage;
  earlyFirstPage = null;
  const page = early?.params === params ? await early.page : null;
  return page ?? request<ProductListPage>(`/api/products?${params}`, { signal });
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
