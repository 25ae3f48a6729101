import { useEffect, useState } from 'preact/hooks';
import { apiUrl, errorMessage, request } from '../../api/client';
import type { Job, JobError } from '../../api/types';
import { plural } from '../../components/formatting';
import { Skeleton } from '../../components/states';

const PREVIEW_ROWS = 10;

/** The first rejected rows of a finished import, and the CSV of all of them to fix and upload again. */
export function RejectedRows({ job }: { job: Job }) {
  const [rows, setRows] = useState<JobError[] | null>(null);
  const [failure, setFailure] = useState<string | null>(null);

  useEffect(() => {
    request<JobError[]>(`/api/jobs/${encodeURIComponent(job.id)}/errors`, { query: { limit: PREVIEW_ROWS } })
      .then(setRows)
      .catch((error: unknown) => setFailure(errorMessage(error)));
  }, [job.id, job.invalid]);

  return (
    <section class="rejected" aria-label="Rejected rows">
      <div class="rejected-header">
        <h3>{plural(job.invalid, 'rejected row')}</h3>
        <a class="button" href={apiUrl(`/api/jobs/${encodeURIComponent(job.id)}/errors`, { format: 'csv' })} download>
          Download rejected rows (CSV)
        </a>
      </div>
      {failure && <p class="form-error">{failure}</p>}
      {!failure && rows === null && <Skeleton lines={2} label="Loading rejected rows" />}
      {rows && rows.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">First rejected rows</caption>
            <thead>
              <tr>
                <th scope="col" class="number">
                  Line
                </th>
                <th scope="col">SKU</th>
                <th scope="col">Field</th>
                <th scope="col" class="column-text">
                  Problem
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.line}>
                  <td class="number">{row.line}</td>
                  <td class="nowrap">{row.sku ?? '–'}</td>
                  <td>{row.field ?? 'whole row'}</td>
                  <td>{row.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {rows && job.invalid > rows.length && <p class="muted">Showing the first {rows.length}; the download has them all (the first 10,000 of a job are kept).</p>}
    </section>
  );
}
