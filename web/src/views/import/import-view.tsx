import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { errorMessage, request } from '../../api/client';
import type { Job } from '../../api/types';
import { uploadFile } from '../../api/uploads';
import { toast } from '../../components/toasts';
import { DropZone } from './drop-zone';
import { JobCard } from './job-card';
import { JobHistory } from './job-history';
import { isFinished } from './job-labels';
import { UploadCard, type Upload } from './upload-card';

const HISTORY_SIZE = 20;
/** Cards shown at once; the oldest finished ones make room. */
const MAX_CARDS = 6;

let nextUploadKey = 1;

/** The default view: drop or choose a CSV, watch it upload and import, read the outcome. */
export function ImportView() {
  const uploads = useSignal<Upload[]>([]);
  const cards = useSignal<Job[]>([]);
  const history = useSignal<Job[] | null>(null);
  const historyFailure = useSignal<string | null>(null);

  const showCard = (job: Job) => {
    if (cards.value.some((card) => card.id === job.id)) return;
    const kept = [job, ...cards.value];
    // Drop the oldest finished cards first when there are too many; never one still running.
    while (kept.length > MAX_CARDS) {
      const index = kept.map((card) => isFinished(card)).lastIndexOf(true);
      if (index <= 0) break;
      kept.splice(index, 1);
    }
    cards.value = kept;
  };

  const loadHistory = async (resume = false) => {
    try {
      const jobs = await request<Job[]>('/api/jobs', { query: { type: 'import', limit: HISTORY_SIZE } });
      history.value = jobs;
      historyFailure.value = null;
      // After a reload: pick up the imports still going, oldest last so the newest is on top.
      if (resume) for (const job of jobs.filter((item) => !isFinished(item)).reverse()) showCard(job);
    } catch (error) {
      historyFailure.value = errorMessage(error);
    }
  };

  useEffect(() => {
    void loadHistory(true);
  }, []);

  const updateUpload = (key: number, change: Partial<Upload>) => {
    uploads.value = uploads.value.map((upload) => (upload.key === key ? { ...upload, ...change } : upload));
  };
  const removeUpload = (key: number) => {
    uploads.value = uploads.value.filter((upload) => upload.key !== key);
  };

  const start = async (file: File) => {
    const upload: Upload = { key: nextUploadKey++, file, loaded: 0, total: file.size, error: null, abort: new AbortController() };
    uploads.value = [upload, ...uploads.value];
    try {
      const job = await uploadFile(file, ({ loaded, total }) => updateUpload(upload.key, { loaded, total }), upload.abort.signal);
      removeUpload(upload.key);
      showCard(job);
      void loadHistory();
    } catch (error) {
      if (error instanceof DOMException && error.name === 'AbortError') {
        removeUpload(upload.key);
        toast.success(`Upload of ${file.name} cancelled.`);
      } else {
        updateUpload(upload.key, { error: errorMessage(error) });
      }
    }
  };

  return (
    <section class="view import-view" aria-labelledby="import-title">
      <h1 id="import-title">Import products</h1>
      <DropZone onFile={(file) => void start(file)} />
      {(uploads.value.length > 0 || cards.value.length > 0) && (
        <div class="job-cards">
          {uploads.value.map((upload) => (
            <UploadCard key={`upload-${upload.key}`} upload={upload} onDismiss={() => removeUpload(upload.key)} />
          ))}
          {cards.value.map((job) => (
            <JobCard
              key={job.id}
              initial={job}
              onFinished={() => void loadHistory()}
              onDismiss={() => (cards.value = cards.value.filter((card) => card.id !== job.id))}
            />
          ))}
        </div>
      )}
      <JobHistory jobs={history.value} failure={historyFailure.value} onReload={() => void loadHistory()} onShow={showCard} />
    </section>
  );
}
