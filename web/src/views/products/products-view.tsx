import { useLocation } from 'preact-iso';
import { useEffect, useRef, useState } from 'preact/hooks';
import { errorMessage } from '../../api/client';
import type { Product } from '../../api/types';
import { ConfirmDialog } from '../../components/confirm-dialog';
import { formatNumber, plural } from '../../components/formatting';
import { Pagination } from '../../components/pagination';
import { EmptyState, ErrorState } from '../../components/states';
import { toast } from '../../components/toasts';
import { BulkDeleteButton, BulkDeleteProgress, useBulkDeleteJob } from './bulk-delete';
import { ProductDialog } from './product-dialog';
import { answeredFirstPage, deleteProduct, deleteSelectedProducts, listProducts, requestFirstPageEarly, updateProduct } from './products-api';
import {
  exportHref,
  FILTER_MAX_LENGTH,
  listParams,
  PAGE_SIZES,
  parseProductsQuery,
  productsUrl,
  toggledSort,
  withChanges,
  type ActiveFilter,
  type ProductsQuery,
} from './products-query';
import { ProductsTable } from './products-table';
import { useDebouncedInput } from './use-debounced-input';
import { useLatest } from './use-latest';
import './products.css';

// This module is loaded with the app: a deep link to /products starts its list request right away.
requestFirstPageEarly(window.location);

const hasFilters = (query: ProductsQuery) => query.q.trim() !== '' || query.sku.trim() !== '' || query.active !== 'all';

/**
 * The catalog: filters, sort and page live in the URL (shareable; Back and Forward work), and each
 * change makes one request for one page, the stale one aborted. Nothing here walks the whole
 * catalog, so it stays as quick on a million products as on ten.
 */
export function ProductsView() {
  const { query: params, route } = useLocation();
  const query = parseProductsQuery(params);
  // The latest state, for callbacks that fire later (a debounced search must not undo a newer change).
  const latest = useRef(query);
  latest.current = query;
  const go = (changes: Partial<ProductsQuery>) => {
    const next = withChanges(latest.current, changes);
    latest.current = next; // before the re-render: another commit in between builds on this one
    route(productsUrl(next));
  };

  const key = listParams(query).toString();
  const [firstPage] = useState(() => answeredFirstPage(query));
  const list = useLatest(key, (signal) => listProducts(query, signal), firstPage);
  const page = list.data;

  const [search, setSearch] = useDebouncedInput(query.q, (q) => go({ q }));
  const [skuPrefix, setSkuPrefix] = useDebouncedInput(query.sku, (sku) => go({ sku }));

  const [selected, setSelected] = useState<ReadonlySet<number>>(new Set());
  useEffect(() => setSelected(new Set()), [key]);
  const select = (ids: number[], on: boolean) =>
    setSelected((previous) => {
      const next = new Set(previous);
      for (const id of ids) {
        if (on) next.add(id);
        else next.delete(id);
      }
      return next;
    });

  const [editing, setEditing] = useState<Product | 'new' | null>(null);
  const [deleting, setDeleting] = useState<Product | null>(null);
  const [deletingSelected, setDeletingSelected] = useState(false);
  const [bulkDeleteJob, setBulkDeleteJob] = useBulkDeleteJob();
  const [bulkDeleteEnded, setBulkDeleteEnded] = useState(false);
  const startedBulkDelete = (jobId: string) => {
    setBulkDeleteEnded(false);
    setBulkDeleteJob(jobId);
  };

  /** After rows were removed: the same page again, or the one before when this one is now empty. */
  const reloadAfterRemoving = (removed: number) => {
    const left = (page?.items.length ?? 0) - removed;
    if (left <= 0 && query.page > 1) go({ page: query.page - 1 });
    else list.reload();
  };

  const replaceRow = (product: Product) =>
    list.update((data) => ({ ...data, items: data.items.map((item) => (item.id === product.id ? product : item)) }));

  const toggleActive = async (product: Product) => {
    replaceRow({ ...product, active: !product.active }); // optimistic: the switch moves at once
    try {
      replaceRow(await updateProduct(product.id, { active: !product.active }));
    } catch (error) {
      replaceRow(product);
      toast.error(`Could not ${product.active ? 'deactivate' : 'activate'} ${product.sku}: ${errorMessage(error)}`);
    }
  };

  const onSaved = (product: Product, created: boolean) => {
    setEditing(null);
    if (created) {
      toast.success(`Created ${product.sku}.`);
      list.reload();
    } else {
      toast.success(`Saved ${product.sku}.`);
      replaceRow(product);
    }
  };

  const confirmDelete = async () => {
    if (!deleting) return;
    await deleteProduct(deleting.id);
    toast.success(`Deleted ${deleting.sku}.`);
    setDeleting(null);
    reloadAfterRemoving(1);
  };

  const confirmDeleteSelected = async () => {
    const ids = [...selected];
    const { deleted } = await deleteSelectedProducts(ids);
    toast.success(`Deleted ${plural(deleted, 'product')}.`);
    setDeletingSelected(false);
    setSelected(new Set());
    reloadAfterRemoving(ids.length);
  };

  const exact = page?.total_exact !== false;
  const totalText = page ? `${formatNumber(page.total)}${exact ? '' : '+'}` : '';

  return (
    <section class="view products-view" aria-labelledby="products-title">
      <div class="products-heading">
        <h1 id="products-title">Products</h1>
        <div class="products-actions">
          <button type="button" class="button button-primary" onClick={() => setEditing('new')}>
            Add product
          </button>
          <a class="button" href={exportHref(query)} download>
            Export CSV
          </a>
          <BulkDeleteButton
            disabled={(bulkDeleteJob !== null && !bulkDeleteEnded) || (page?.total === 0 && !hasFilters(query))}
            onStarted={startedBulkDelete}
          />
        </div>
      </div>

      {bulkDeleteJob && (
        <BulkDeleteProgress
          jobId={bulkDeleteJob}
          onFinished={() => {
            setBulkDeleteEnded(true);
            list.reload();
          }}
          onDismiss={() => setBulkDeleteJob(null)}
        />
      )}

      <form class="products-toolbar" role="search" aria-label="Filter products" onSubmit={(event) => event.preventDefault()}>
        <label class="field field-search">
          <span>Search</span>
          <input
            type="search"
            value={search}
            maxLength={FILTER_MAX_LENGTH}
            placeholder="SKU, name or description"
            onInput={(event) => setSearch(event.currentTarget.value)}
          />
        </label>
        <label class="field field-sku">
          <span>SKU starts with</span>
          <input type="text" value={skuPrefix} maxLength={FILTER_MAX_LENGTH} spellcheck={false} autoComplete="off" onInput={(event) => setSkuPrefix(event.currentTarget.value)} />
        </label>
        <label class="field field-active">
          <span>Status</span>
          <select value={query.active} onChange={(event) => go({ active: event.currentTarget.value as ActiveFilter })}>
            <option value="all">All</option>
            <option value="true">Active</option>
            <option value="false">Inactive</option>
          </select>
        </label>
        {hasFilters(query) && (
          <button type="button" class="button button-quiet" onClick={() => go({ q: '', sku: '', active: 'all' })}>
            Clear filters
          </button>
        )}
      </form>

      {page?.search_complete === false && (
        <p class="muted search-incomplete" role="status">
          An import is running: the products it is writing appear in search results once it has finished.
        </p>
      )}

      <div class="products-selection" aria-live="polite">
        {selected.size > 0 ? (
          <>
            <span>{plural(selected.size, 'product')} selected</span>
            <button type="button" class="button button-danger" onClick={() => setDeletingSelected(true)}>
              Delete selected
            </button>
            <button type="button" class="button button-quiet" onClick={() => setSelected(new Set())}>
              Clear selection
            </button>
          </>
        ) : (
          page && (
            <span class="muted products-count">
              {hasFilters(query) ? `${totalText} matching ${page.total === 1 && exact ? 'product' : 'products'}` : plural(page.total, 'product')}
            </span>
          )
        )}
      </div>

      {list.state === 'error' ? (
        <ErrorState message={errorMessage(list.error)} onRetry={list.reload} />
      ) : page && page.total === 0 ? (
        hasFilters(query) ? (
          <EmptyState title="No products match these filters.">
            <button type="button" class="button" onClick={() => go({ q: '', sku: '', active: 'all' })}>
              Clear filters
            </button>
          </EmptyState>
        ) : (
          <EmptyState title="No products yet.">
            <p>
              <a href="/import">Import a CSV file</a> or add one by hand.
            </p>
          </EmptyState>
        )
      ) : page && page.items.length === 0 ? (
        <EmptyState title={`There is no page ${formatNumber(query.page)}.`}>
          <button type="button" class="button" onClick={() => go({ page: Math.max(1, page.pages) })}>
            Go to the last page
          </button>
        </EmptyState>
      ) : (
        <ProductsTable
          items={page?.items ?? null}
          busy={list.state === 'loading'}
          query={query}
          onSort={(field) => go(toggledSort(query, field))}
          selected={selected}
          onSelect={select}
          onToggleActive={toggleActive}
          onEdit={setEditing}
          onDelete={setDeleting}
        />
      )}

      {page && page.total > 0 && (
        <Pagination
          page={query.page}
          pageSize={query.pageSize}
          total={page.total}
          totalExact={exact}
          noun="products"
          pageSizes={[...PAGE_SIZES]}
          onPage={(number) => go({ page: number })}
          onPageSize={(pageSize) => go({ pageSize })}
        />
      )}

      <ProductDialog editing={editing} onClose={() => setEditing(null)} onSaved={onSaved} />
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete ${deleting?.sku ?? 'product'}?`}
        confirmLabel="Delete"
        danger
        onConfirm={confirmDelete}
        onCancel={() => setDeleting(null)}
      >
        <p>
          {deleting?.name} ({deleting?.sku}) is deleted. This cannot be undone.
        </p>
      </ConfirmDialog>
      <ConfirmDialog
        open={deletingSelected}
        title={`Delete ${plural(selected.size, 'product')}?`}
        confirmLabel="Delete selected"
        danger
        onConfirm={confirmDeleteSelected}
        onCancel={() => setDeletingSelected(false)}
      >
        <p>The selected products are deleted. This cannot be undone.</p>
      </ConfirmDialog>
    </section>
  );
}
