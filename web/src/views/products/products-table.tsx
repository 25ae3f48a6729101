import { useEffect, useRef } from 'preact/hooks';
import type { Product } from '../../api/types';
import { formatDateTime } from '../../components/formatting';
import type { ProductsQuery, SortField } from './products-query';

export interface ProductsTableProps {
  /** null while the first page loads: skeleton rows of the page's height. */
  items: Product[] | null;
  busy: boolean;
  query: ProductsQuery;
  onSort: (field: SortField) => void;
  selected: ReadonlySet<number>;
  onSelect: (ids: number[], selected: boolean) => void;
  onToggleActive: (product: Product) => void;
  onEdit: (product: Product) => void;
  onDelete: (product: Product) => void;
}

const COLUMNS: { field: SortField; label: string; class: string }[] = [
  { field: 'sku', label: 'SKU', class: 'col-sku' },
  { field: 'name', label: 'Name', class: 'col-name' },
  { field: 'price', label: 'Price', class: 'col-price number' },
];
const UPDATED_COLUMN = { field: 'updated_at' as const, label: 'Updated', class: 'col-updated' };
/** Skeleton rows shown at most: enough to fill a screen without a jump when the rows come. */
const MAX_SKELETON_ROWS = 20;

function SortHeader({ field, label, class: className, query, onSort }: (typeof COLUMNS)[number] & Pick<ProductsTableProps, 'query' | 'onSort'>) {
  const sorted = query.sort === field;
  return (
    <th scope="col" class={className} aria-sort={sorted ? (query.order === 'asc' ? 'ascending' : 'descending') : undefined}>
      <button type="button" class="sort-button" onClick={() => onSort(field)}>
        {label}
        <span class="sort-indicator" aria-hidden="true">
          {sorted ? (query.order === 'asc' ? '▲' : '▼') : '↕'}
        </span>
      </button>
    </th>
  );
}

function SelectAll({ ids, selected, onSelect }: { ids: number[]; selected: ReadonlySet<number>; onSelect: ProductsTableProps['onSelect'] }) {
  const ref = useRef<HTMLInputElement>(null);
  const count = ids.filter((id) => selected.has(id)).length;
  const all = ids.length > 0 && count === ids.length;
  useEffect(() => {
    if (ref.current) ref.current.indeterminate = count > 0 && !all;
  }, [count, all]);
  return (
    <input
      ref={ref}
      type="checkbox"
      aria-label="Select all products on this page"
      checked={all}
      disabled={ids.length === 0}
      onChange={(event) => onSelect(ids, event.currentTarget.checked)}
    />
  );
}

function SkeletonRows({ count }: { count: number }) {
  return (
    <>
      {Array.from({ length: Math.min(count, MAX_SKELETON_ROWS) }, (_, index) => (
        <tr key={index} aria-hidden="true" class="skeleton-row">
          {['col-check', 'col-sku', 'col-name', 'col-price', 'col-active', 'col-updated', 'col-actions'].map((column) => (
            <td key={column} class={column}>
              <span class="skeleton-bar" />
            </td>
          ))}
        </tr>
      ))}
    </>
  );
}

function ProductRow({ product, checked, ...props }: { product: Product; checked: boolean } & Pick<ProductsTableProps, 'onSelect' | 'onToggleActive' | 'onEdit' | 'onDelete'>) {
  return (
    <tr class={checked ? 'is-selected' : undefined}>
      <td class="col-check">
        <input type="checkbox" aria-label={`Select ${product.sku}`} checked={checked} onChange={(event) => props.onSelect([product.id], event.currentTarget.checked)} />
      </td>
      <td class="col-sku">
        <span class="sku">{product.sku}</span>
      </td>
      <td class="col-name" title={product.description ?? undefined}>
        {product.name}
      </td>
      <td class="col-price number">{product.price ?? <span class="muted">–</span>}</td>
      <td class="col-active">
        <input type="checkbox" role="switch" aria-label={`Active: ${product.sku}`} checked={product.active} onChange={() => props.onToggleActive(product)} />
      </td>
      <td class="col-updated">
        <time dateTime={product.updated_at}>{formatDateTime(product.updated_at)}</time>
      </td>
      <td class="col-actions">
        <span class="row-actions">
          <button type="button" class="button button-quiet" aria-label={`Edit ${product.sku}`} onClick={() => props.onEdit(product)}>
            Edit
          </button>
          <button type="button" class="button button-quiet danger-text" aria-label={`Delete ${product.sku}`} onClick={() => props.onDelete(product)}>
            Delete
          </button>
        </span>
      </td>
    </tr>
  );
}

/** The page of products: a real table (sortable headers with aria-sort, row checkboxes, inline switch). */
export function ProductsTable({ items, busy, query, onSort, selected, onSelect, ...rowActions }: ProductsTableProps) {
  const ids = items?.map((product) => product.id) ?? [];
  return (
    <div class="table-wrap products-table-wrap">
      <table class="products-table" aria-busy={busy ? 'true' : 'false'}>
        <caption class="visually-hidden">Products</caption>
        <thead>
          <tr>
            <th scope="col" class="col-check">
              <SelectAll ids={ids} selected={selected} onSelect={onSelect} />
            </th>
            {COLUMNS.map((column) => (
              <SortHeader key={column.field} {...column} query={query} onSort={onSort} />
            ))}
            <th scope="col" class="col-active">
              Active
            </th>
            <SortHeader {...UPDATED_COLUMN} query={query} onSort={onSort} />
            <th scope="col" class="col-actions">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {items === null ? (
            <SkeletonRows count={query.pageSize} />
          ) : (
            items.map((product) => <ProductRow key={product.id} product={product} checked={selected.has(product.id)} onSelect={onSelect} {...rowActions} />)
          )}
        </tbody>
      </table>
    </div>
  );
}
