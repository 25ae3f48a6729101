import { describe, expect, it } from 'vitest';
import {
  DEFAULT_QUERY,
  exportHref,
  listParams,
  parseProductsQuery,
  productsUrl,
  toggledSort,
  withChanges,
} from '../../web/src/views/products/products-query.js';

// The Products view keeps its state in the URL; these are the rules of that mapping (the browser
// test covers the view using them).

describe('products view URL state', () => {
  it('reads a full query and writes it back unchanged', () => {
    const url = '/products?q=chair&sku=CH&active=false&sort=price&order=desc&page=3&page_size=50';
    const query = parseProductsQuery(Object.fromEntries(new URL(url, 'http://x').searchParams));
    expect(query).toEqual({ q: 'chair', sku: 'CH', active: 'false', sort: 'price', order: 'desc', page: 3, pageSize: 50 });
    expect(productsUrl(query)).toBe(url);
  });

  it('leaves defaults out of the URL, so the plain first page is /products', () => {
    expect(productsUrl(DEFAULT_QUERY)).toBe('/products');
    expect(productsUrl({ ...DEFAULT_QUERY, q: '  ', sku: '' })).toBe('/products');
    expect(productsUrl({ ...DEFAULT_QUERY, order: 'desc' })).toBe('/products?sort=id&order=desc');
  });

  it('falls back to defaults for values a hand-edited URL may hold', () => {
    expect(
      parseProductsQuery({ active: 'yes', sort: 'drop table', order: 'up', page: '-1', page_size: '7' }),
    ).toEqual(DEFAULT_QUERY);
    expect(parseProductsQuery({ page: '1.5' }).page).toBe(1);
    expect(parseProductsQuery({ page: '99999999999' }).page).toBe(1);
    expect(parseProductsQuery({ q: 'x'.repeat(1000) }).q).toHaveLength(255);
  });

  it('asks the API for the page always, and exports the filters and sort without it', () => {
    const query = { ...DEFAULT_QUERY, q: ' lamp ', active: 'true' as const, page: 4 };
    expect(listParams(query).toString()).toBe('q=lamp&active=true&page=4&page_size=20');
    expect(exportHref(query)).toBe('/api/products/export?q=lamp&active=true');
    expect(exportHref(DEFAULT_QUERY)).toBe('/api/products/export');
  });

  it('goes back to page 1 on any change but the page, and sorts a column ascending first', () => {
    const onPage5 = { ...DEFAULT_QUERY, page: 5 };
    expect(withChanges(onPage5, { sku: 'A' }).page).toBe(1);
    expect(withChanges(onPage5, { page: 6 }).page).toBe(6);
    expect(toggledSort(DEFAULT_QUERY, 'name')).toEqual({ sort: 'name', order: 'asc' });
    expect(toggledSort({ ...DEFAULT_QUERY, sort: 'name', order: 'asc' }, 'name')).toEqual({ sort: 'name', order: 'desc' });
    expect(toggledSort({ ...DEFAULT_QUERY, sort: 'name', order: 'desc' }, 'name')).toEqual({ sort: 'name', order: 'asc' });
  });
});
