import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { ApiError, errorMessage } from '../../api/client';
import type { Webhook } from '../../api/types';
import { createWebhook, updateWebhook } from '../../api/webhooks';
import { Dialog } from '../../components/dialog';
import { SUBSCRIBABLE_EVENTS, type EventType } from './webhook-format';

export interface WebhookDialogProps {
  open: boolean;
  /** The endpoint to edit; null adds a new one. */
  webhook: Webhook | null;
  onClose: () => void;
  /** The saved endpoint (a new one with its secret in full). */
  onSaved: (webhook: Webhook, created: boolean) => void;
}

const URL_MAX_LENGTH = 2048;
const DESCRIPTION_MAX_LENGTH = 1000;
/** The fields that show their own messages. */
const FIELDS = ['url', 'description', 'events'];
const DEFAULT_EVENTS: EventType[] = ['product.created', 'product.updated', 'product.deleted'];

/** Add or edit an endpoint: URL, description, events; the server's 422 messages next to the fields. */
export function WebhookDialog({ open, webhook, onClose, onSaved }: WebhookDialogProps) {
  const formId = useId();
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [events, setEvents] = useState<string[]>([]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);

  // After a refusal, the first field it names gets focus (and its message is read with it).
  useEffect(() => {
    form.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [errors]);

  useEffect(() => {
    if (!open) return;
    setUrl(webhook?.url ?? '');
    setDescription(webhook?.description ?? '');
    setEvents(webhook?.events ?? DEFAULT_EVENTS);
    setErrors({});
    setFailure(null);
    setBusy(false);
  }, [open, webhook]);

  const toggle = (type: string, checked: boolean) =>
    setEvents((current) => (checked ? [...current, type] : current.filter((event) => event !== type)));

  const submit = async (event: Event) => {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    setErrors({});
    setFailure(null);
    const body = { url: url.trim(), description: description.trim() || null, events: events as EventType[] };
    try {
      const saved = webhook ? await updateWebhook(webhook.id, body) : await createWebhook(body);
      onSaved(saved, webhook === null);
    } catch (error) {
      const fields = error instanceof ApiError ? error.fieldMessages() : {};
      setErrors(fields);
      // Anything not shown at a field (or not a 422 at all) is shown under the form.
      const unplaced = Object.keys(fields).some((field) => !FIELDS.includes(field));
      if (Object.keys(fields).length === 0 || unplaced) setFailure(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };

  const fieldError = (field: string) =>
    errors[field] ? (
      <p id={`${formId}-${field}-error`} class="field-error">
        {errors[field]}
      </p>
    ) : null;
  const describedBy = (field: string) => (errors[field] ? `${formId}-${field}-error` : undefined);

  return (
    <Dialog
      open={open}
      title={webhook ? 'Edit endpoint' : 'Add endpoint'}
      onClose={onClose}
      class="webhook-dialog"
      footer={
        <>
          <button type="button" class="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" form={formId} class="button button-primary" disabled={busy}>
            {busy ? 'Saving…' : webhook ? 'Save changes' : 'Add endpoint'}
          </button>
        </>
      }
    >
      <form id={formId} ref={form} onSubmit={submit} noValidate>
        <label class="field">
          <span>Endpoint URL</span>
          <input
            type="url"
            name="url"
            value={url}
            required
            maxLength={URL_MAX_LENGTH}
            placeholder="https://example.com/webhooks"
            autoComplete="off"
            spellcheck={false}
            aria-invalid={errors.url ? 'true' : undefined}
            aria-describedby={describedBy('url')}
            onInput={(event) => setUrl(event.currentTarget.value)}
            autofocus
          />
        </label>
        {fieldError('url')}
        <label class="field">
          <span>
            Description <span class="muted">(optional)</span>
          </span>
          <input
            type="text"
            name="description"
            value={description}
            maxLength={DESCRIPTION_MAX_LENGTH}
            aria-invalid={errors.description ? 'true' : undefined}
            aria-describedby={describedBy('description')}
            onInput={(event) => setDescription(event.currentTarget.value)}
          />
        </label>
        {fieldError('description')}
        <fieldset class="event-choices" aria-describedby={describedBy('events')}>
          <legend>Events to send</legend>
          {SUBSCRIBABLE_EVENTS.map(({ type, label }) => (
            <label key={type} class="checkbox">
              <input type="checkbox" name="events" value={type} checked={events.includes(type)} onChange={(event) => toggle(type, event.currentTarget.checked)} />
              <span>
                {label} <code class="muted">{type}</code>
              </span>
            </label>
          ))}
        </fieldset>
        {fieldError('events')}
        {failure && (
          <p class="form-error" role="alert">
            {failure}
          </p>
        )}
      </form>
    </Dialog>
  );
}
