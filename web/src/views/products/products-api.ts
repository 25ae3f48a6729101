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
import { listParams, type ProductsQuery } from './products-query';

/** The list answer; `total_exact` is false when the server stopped counting a broad text search. */
export type ProductListPage = ProductPage & { total_exact?: boolean };

export function listProducts(query: ProductsQuery, signal: AbortSignal): Promise<ProductListPage> {
  return request<ProductListPage>(`/api/products?${listParams(query).toString()}`, { signal });
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
