import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { errorMessage } from '../api/client';
import { Dialog } from './dialog';

export interface ConfirmDialogProps {
  open: boolean;
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  /** Red confirm button, for what cannot be undone. */
  danger?: boolean;
  /** When set, the confirm button stays disabled until this word is typed. */
  confirmWord?: string;
  /** May be async: the dialog shows it is busy and shows a failure's message in place. */
  onConfirm: () => void | Promise<void>;
  onCancel: () => void;
}

export function ConfirmDialog({ open, title, children, confirmLabel, danger, confirmWord, onConfirm, onCancel }: ConfirmDialogProps) {
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);

  useEffect(() => {
    if (open) {
      setTyped('');
      setFailure(null);
      setBusy(false);
    }
  }, [open]);

  const allowed = !busy && (!confirmWord || typed.trim() === confirmWord);
  const confirm = async () => {
    if (!allowed) return;
    setBusy(true);
    setFailure(null);
    try {
      await onConfirm();
    } catch (error) {
      setFailure(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog
      open={open}
      title={title}
      onClose={onCancel}
      footer={
        <>
          <button type="button" class="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="button" class={`button ${danger ? 'button-danger' : 'button-primary'}`} disabled={!allowed} onClick={confirm}>
            {busy ? 'Working…' : confirmLabel}
          </button>
        </>
      }
    >
      <div class="confirm-message">{children}</div>
      {confirmWord && (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void confirm();
          }}
        >
          <label class="field">
            <span>
              Type <strong>{confirmWord}</strong> to confirm
            </span>
            <input type="text" value={typed} autoComplete="off" spellcheck={false} onInput={(event) => setTyped(event.currentTarget.value)} autofocus />
          </label>
        </form>
      )}
      {failure && (
        <p class="form-error" role="alert">
          {failure}
        </p>
      )}
    </Dialog>
  );
}
