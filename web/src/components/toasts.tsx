import { signal } from '@preact/signals';

export interface Toast {
  id: number;
  kind: 'success' | 'error';
  message: string;
}

const MAX_TOASTS = 4;
const SUCCESS_MS = 5_000;
const ERROR_MS = 10_000;

const toasts = signal<Toast[]>([]);
let nextId = 1;

function dismiss(id: number): void {
  toasts.value = toasts.value.filter((toast) => toast.id !== id);
}

function show(kind: Toast['kind'], message: string): void {
  const id = nextId++;
  // Bounded: the oldest go first when many arrive at once.
  toasts.value = [...toasts.value, { id, kind, message }].slice(-MAX_TOASTS);
  setTimeout(() => dismiss(id), kind === 'error' ? ERROR_MS : SUCCESS_MS);
}

/** Short messages after an action: `toast.success('Saved')`, `toast.error(errorMessage(error))`. */
export const toast = {
  success: (message: string) => show('success', message),
  error: (message: string) => show('error', message),
};

/** The live region every toast appears in (once, in the layout); screen readers announce each. */
export function ToastRegion() {
  return (
    <div class="toasts" aria-live="polite" aria-relevant="additions" aria-label="Notifications" role="region">
      {toasts.value.map((item) => (
        <div key={item.id} class={`toast toast-${item.kind}`} role={item.kind === 'error' ? 'alert' : 'status'}>
          <span class="toast-icon" aria-hidden="true">
            {item.kind === 'error' ? '!' : '✓'}
          </span>
          <span class="toast-message">{item.message}</span>
          <button type="button" class="icon-button" aria-label="Dismiss notification" onClick={() => dismiss(item.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
