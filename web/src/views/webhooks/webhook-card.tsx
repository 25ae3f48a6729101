import { useId, useState } from 'preact/hooks';
import { errorMessage } from '../../api/client';
import type { Webhook, WebhookTestResult } from '../../api/types';
import { testWebhook, updateWebhook } from '../../api/webhooks';
import { formatNumber } from '../../components/formatting';
import { toast } from '../../components/toasts';
import { DeliveryLog } from './delivery-log';
import { HealthStrip, LastDelivery } from './health-strip';
import { SecretPanel } from './secret-panel';
import { displayUrl } from './webhook-format';

export interface WebhookCardProps {
  webhook: Webhook;
  onChanged: (webhook: Webhook) => void;
  /** Something changed the endpoint's deliveries: load the list again (health, last delivery). */
  onReload: () => void;
  onEdit: (webhook: Webhook) => void;
  onDelete: (webhook: Webhook) => void;
}

function testResultText(result: WebhookTestResult): string {
  const time = result.response_time_ms === null ? '' : ` in ${formatNumber(result.response_time_ms)} ms`;
  if (result.success) return `Test succeeded: ${result.status_code}${time}.`;
  if (result.status_code !== null) return `Test failed: the endpoint answered ${result.status_code}${time}.`;
  return `Test failed: ${result.error ?? 'no answer'}${time}.`;
}

/** One endpoint: URL, events, enabled switch and health at a glance; test, edit, delete; details on demand. */
export function WebhookCard({ webhook, onChanged, onReload, onEdit, onDelete }: WebhookCardProps) {
  const id = useId();
  const url = displayUrl(webhook.url);
  const [enabled, setEnabled] = useState<boolean | null>(null);
  const [testing, setTesting] = useState(false);
  const [testResult, setTestResult] = useState<WebhookTestResult | null>(null);
  const [expanded, setExpanded] = useState(false);
  const [refreshKey, setRefreshKey] = useState(0);
  const shownEnabled = enabled ?? webhook.enabled;

  // Optimistic: the switch moves at once and moves back if the server refuses.
  const toggle = async (next: boolean) => {
    setEnabled(next);
    try {
      onChanged(await updateWebhook(webhook.id, { enabled: next }));
      toast.success(next ? 'Endpoint enabled.' : 'Endpoint disabled: no more deliveries until it is enabled again.');
    } catch (error) {
      toast.error(errorMessage(error));
    } finally {
      setEnabled(null);
    }
  };

  const test = async () => {
    setTesting(true);
    setTestResult(null);
    try {
      const result = await testWebhook(webhook.id);
      setTestResult(result);
      setRefreshKey((key) => key + 1);
      onReload();
    } catch (error) {
      toast.error(errorMessage(error));
    } finally {
      setTesting(false);
    }
  };

  const hidden = (text: string) => <span class="visually-hidden"> {text}</span>;

  return (
    <article class={`card webhook-card${shownEnabled ? '' : ' is-disabled'}`} aria-labelledby={`${id}-title`}>
      <div class="webhook-head">
        <h2 id={`${id}-title`} class="webhook-url">
          {url}
        </h2>
        <label class="switch">
          <input type="checkbox" role="switch" checked={shownEnabled} disabled={enabled !== null} onChange={(event) => void toggle(event.currentTarget.checked)} />
          <span>Enabled</span>
        </label>
      </div>
      {webhook.description && <p class="webhook-description">{webhook.description}</p>}
      {!webhook.enabled && webhook.disabled_reason && <p class="webhook-disabled-reason">{webhook.disabled_reason}</p>}
      <ul class="chips" aria-label="Events">
        {webhook.events.map((event) => (
          <li key={event} class="chip">
            {event}
          </li>
        ))}
      </ul>
      <div class="webhook-health">
        <LastDelivery webhook={webhook} />
        <HealthStrip webhook={webhook} />
      </div>
      <div class="actions">
        <button type="button" class="button" disabled={testing} onClick={() => void test()}>
          {testing ? 'Sending test…' : 'Send test'}
          {hidden(`to ${url}`)}
        </button>
        <button type="button" class="button" aria-expanded={expanded} aria-controls={`${id}-details`} onClick={() => setExpanded(!expanded)}>
          {expanded ? 'Hide deliveries and secret' : 'Deliveries and secret'}
        </button>
        <button type="button" class="button" onClick={() => onEdit(webhook)}>
          Edit{hidden(url)}
        </button>
        <button type="button" class="button button-quiet tone-bad" onClick={() => onDelete(webhook)}>
          Delete{hidden(url)}
        </button>
      </div>
      <p class="test-result" role="status">
        {testResult && <span class={testResult.success ? 'tone-ok' : 'tone-bad'}>{testResultText(testResult)}</span>}
      </p>
      <div id={`${id}-details`} class="webhook-details" hidden={!expanded}>
        {expanded && (
          <>
            <SecretPanel webhook={webhook} onRotated={onReload} />
            <DeliveryLog webhook={webhook} refreshKey={refreshKey} onSettled={onReload} />
          </>
        )}
      </div>
    </article>
  );
}
