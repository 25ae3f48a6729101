import { formatNumber } from './formatting';

export interface PaginationProps {
  page: number;
  pageSize: number;
  total: number;
  /** False when the server stopped counting (a broad text search): the total shows as "10,000+". */
  totalExact?: boolean;
  onPage: (page: number) => void;
  onPageSize?: (pageSize: number) => void;
  pageSizes?: number[];
  /** What is counted, for the summary ("products"). */
  noun?: string;
}

export function Pagination({ page, pageSize, total, totalExact = true, onPage, onPageSize, pageSizes = [20, 50, 100], noun = 'items' }: PaginationProps) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const first = total === 0 ? 0 : (page - 1) * pageSize + 1;
  const last = Math.min(total, page * pageSize);
  return (
    <nav class="pagination" aria-label="Pages">
      <span class="pagination-summary">
        {formatNumber(first)}–{formatNumber(last)} of {formatNumber(total)}
        {totalExact ? '' : '+'} {noun}
      </span>
      {onPageSize && (
        <label class="pagination-size">
          Per page{' '}
          <select value={String(pageSize)} onChange={(event) => onPageSize(Number(event.currentTarget.value))}>
            {pageSizes.map((size) => (
              <option key={size} value={String(size)}>
                {size}
              </option>
            ))}
          </select>
        </label>
      )}
      <span class="pagination-buttons">
        <button type="button" class="button" disabled={page <= 1} onClick={() => onPage(page - 1)} aria-label="Previous page">
          ‹ Previous
        </button>
        <span aria-current="page">
          Page {formatNumber(page)} of {formatNumber(pages)}
        </span>
        <button type="button" class="button" disabled={page >= pages} onClick={() => onPage(page + 1)} aria-label="Next page">
          Next ›
        </button>
      </span>
    </nav>
  );
}
