import { useEffect, useState } from 'preact/hooks';
import { errorMessage } from '../../api/client';
import type { Webhook } from '../../api/types';
import { deleteWebhook, listWebhooks } from '../../api/webhooks';
import { ConfirmDialog } from '../../components/confirm-dialog';
import { EmptyState, ErrorState, Skeleton } from '../../components/states';
import { toast } from '../../components/toasts';
import { WebhookCard } from './webhook-card';
import { WebhookDialog } from './webhook-dialog';
import { displayUrl } from './webhook-format';
import './webhooks.css';

type Editing = { webhook: Webhook | null } | null;

/** /webhooks: the endpoints with their health, and everything one can do with them. */
export function WebhooksView() {
  const [webhooks, setWebhooks] = useState<Webhook[] | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [editing, setEditing] = useState<Editing>(null);
  const [deleting, setDeleting] = useState<Webhook | null>(null);

  const load = async (signal?: AbortSignal) => {
    try {
      setWebhooks(await listWebhooks(signal));
      setFailure(null);
    } catch (error) {
      if (!signal?.aborted) setFailure(errorMessage(error));
    }
  };

  useEffect(() => {
    const controller = new AbortController();
    void load(controller.signal);
    return () => controller.abort();
  }, []);

  const replace = (changed: Webhook) => setWebhooks((current) => current?.map((webhook) => (webhook.id === changed.id ? changed : webhook)) ?? null);

  const saved = (webhook: Webhook, created: boolean) => {
    setEditing(null);
    toast.success(created ? 'Endpoint added. Its signing secret is under “Deliveries and secret”.' : 'Endpoint saved.');
    if (created) void load();
    else replace(webhook);
  };

  const remove = async () => {
    if (!deleting) return;
    await deleteWebhook(deleting.id);
    setWebhooks((current) => current?.filter((webhook) => webhook.id !== deleting.id) ?? null);
    toast.success('Endpoint deleted.');
    setDeleting(null);
  };

  const addButton = (
    <button type="button" class="button button-primary" onClick={() => setEditing({ webhook: null })}>
      Add endpoint
    </button>
  );

  let content;
  if (failure && !webhooks) content = <ErrorState message={failure} onRetry={() => void load()} />;
  else if (!webhooks) content = <Skeleton lines={4} label="Loading webhooks" />;
  else if (webhooks.length === 0)
    content = (
      <EmptyState title="No webhook endpoints yet">
        <p>Add an endpoint to have product changes and finished imports sent to another system, signed.</p>
        {addButton}
      </EmptyState>
    );
  else
    content = (
      <ul class="webhook-list" aria-label="Webhook endpoints">
        {webhooks.map((webhook) => (
          <li key={webhook.id}>
            <WebhookCard
              webhook={webhook}
              onChanged={replace}
              onReload={() => void load()}
              onEdit={(chosen) => setEditing({ webhook: chosen })}
              onDelete={setDeleting}
            />
          </li>
        ))}
      </ul>
    );

  return (
    <section class="view webhooks-view">
      <div class="view-header">
        <h1>Webhooks</h1>
        {webhooks && webhooks.length > 0 && addButton}
      </div>
      {failure && webhooks && (
        <p class="form-error" role="alert">
          {failure}
        </p>
      )}
      {content}
      <WebhookDialog open={editing !== null} webhook={editing?.webhook ?? null} onClose={() => setEditing(null)} onSaved={saved} />
      <ConfirmDialog
        open={deleting !== null}
        title="Delete this endpoint?"
        confirmLabel="Delete endpoint"
        danger
        onConfirm={remove}
        onCancel={() => setDeleting(null)}
      >
        <p>
          Nothing more is sent to <code>{deleting ? displayUrl(deleting.url) : ''}</code>, and its delivery log is deleted. This cannot be undone.
        </p>
      </ConfirmDialog>
    </section>
  );
}
