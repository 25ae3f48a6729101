import type { Job } from '../../api/types';
import { formatDuration, formatNumber, formatRelativeTime, secondsBetween } from '../../components/formatting';
import { EmptyState, ErrorState, Skeleton } from '../../components/states';
import { STATUS_LABELS } from './job-labels';

export interface JobHistoryProps {
  jobs: Job[] | null;
  failure: string | null;
  onReload: () => void;
  onShow: (job: Job) => void;
}

/** Recent imports, newest first: outcome, counts, how long they took. */
export function JobHistory({ jobs, failure, onReload, onShow }: JobHistoryProps) {
  return (
    <section class="history" aria-labelledby="history-title">
      <h2 id="history-title">Recent imports</h2>
      {failure && <ErrorState message={failure} onRetry={onReload} />}
      {!failure && jobs === null && <Skeleton lines={3} label="Loading recent imports" />}
      {jobs && jobs.length === 0 && <EmptyState title="No imports yet">The files you import are listed here.</EmptyState>}
      {jobs && jobs.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col">Outcome</th>
                <th scope="col" class="number">
                  Rows
                </th>
                <th scope="col" class="number">
                  Inserted
                </th>
                <th scope="col" class="number">
                  Updated
                </th>
                <th scope="col" class="number">
                  Unchanged
                </th>
                <th scope="col" class="number">
                  Invalid
                </th>
                <th scope="col" class="number">
                  Duration
                </th>
                <th scope="col">Started</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((job) => (
                <tr key={job.id} data-job-id={job.id}>
                  <td>{job.filename ?? '–'}</td>
                  <td>
                    <span class={`badge badge-${job.status}`}>{STATUS_LABELS[job.status]}</span>
                  </td>
                  <td class="number">{formatNumber(job.rows_processed)}</td>
                  <td class="number">{formatNumber(job.inserted)}</td>
                  <td class="number">{formatNumber(job.updated)}</td>
                  <td class="number">{formatNumber(job.unchanged)}</td>
                  <td class="number">{formatNumber(job.invalid)}</td>
                  <td class="number">{job.started_at ? formatDuration(secondsBetween(job.started_at, job.finished_at)) : '–'}</td>
                  <td>{formatRelativeTime(job.created_at)}</td>
                  <td>
                    <button type="button" class="button button-quiet" onClick={() => onShow(job)} aria-label={`Show the import of ${job.filename ?? 'this file'}`}>
                      Show
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
