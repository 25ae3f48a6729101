import type { Job } from '../../api/types';
import { formatNumber } from '../../components/formatting';

const PARTS = [
  { key: 'inserted', label: 'Inserted' },
  { key: 'updated', label: 'Updated' },
  { key: 'unchanged', label: 'Unchanged' },
  { key: 'invalid', label: 'Invalid' },
] as const;

/** The four counts as numbers and as one stacked bar (the bar is decoration; the numbers carry it). */
export function ImportCounts({ job }: { job: Job }) {
  const total = PARTS.reduce((sum, part) => sum + job[part.key], 0);
  return (
    <div class="counts">
      <div class="stacked-bar" aria-hidden="true">
        {total > 0 &&
          PARTS.map((part) =>
            job[part.key] > 0 ? <span key={part.key} class={`segment segment-${part.key}`} style={{ flexGrow: job[part.key] }} /> : null,
          )}
      </div>
      <dl class="count-list">
        {PARTS.map((part) => (
          <div key={part.key} class="count" data-count={part.key}>
            <dt>
              <span class={`swatch segment-${part.key}`} aria-hidden="true" />
              {part.label}
            </dt>
            <dd>{formatNumber(job[part.key])}</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}
