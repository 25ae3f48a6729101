import { useRef, useState } from 'preact/hooks';

export const ACCEPTED_FILES = '.csv,.gz,text/csv,application/gzip';

/** One clear target: drop a file anywhere on it, or choose one with the button (keyboard users). */
export function DropZone({ onFile }: { onFile: (file: File) => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);

  const take = (files: FileList | null | undefined) => {
    const file = files?.[0];
    if (file) onFile(file);
  };

  return (
    <div
      class={`dropzone${over ? ' dropzone-over' : ''}`}
      data-testid="dropzone"
      onDragEnter={(event) => {
        event.preventDefault();
        setOver(true);
      }}
      onDragOver={(event) => {
        event.preventDefault();
        if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
      }}
      onDragLeave={(event) => {
        if (event.currentTarget === event.target) setOver(false);
      }}
      onDrop={(event) => {
        event.preventDefault();
        setOver(false);
        take(event.dataTransfer?.files);
      }}
    >
      <p class="dropzone-title">Drop a CSV file here</p>
      <p class="muted">
        <code>.csv</code> or <code>.csv.gz</code> with the columns <code>sku</code>, <code>name</code> and optionally <code>description</code>,{' '}
        <code>price</code>, <code>active</code>.
      </p>
      <button type="button" class="button button-primary" onClick={() => input.current?.click()}>
        Choose a file…
      </button>
      <input
        ref={input}
        type="file"
        class="visually-hidden"
        accept={ACCEPTED_FILES}
        aria-label="CSV file to import"
        tabIndex={-1}
        onChange={(event) => {
          take(event.currentTarget.files);
          event.currentTarget.value = ''; // the same file can be chosen again
        }}
      />
    </div>
  );
}
