import { Fragment } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { errorMessage } from '../../api/client';
import type { Webhook, WebhookDelivery } from '../../api/types';
import { listDeliveries, redeliver } from '../../api/webhooks';
import { formatDateTime, formatNumber, formatRelativeTime } from '../../components/formatting';
import { EmptyState, ErrorState, Skeleton } from '../../components/states';
import { toast } from '../../components/toasts';
import { readableBody, STATUS_TEXT } from './webhook-format';

/** Deliveries shown (the newest); the API gives at most 200. */
const LOG_LIMIT = 50;
/** While a delivery is due, the log looks again this often until it is sent… */
const PENDING_POLL_MS = 1000;
/** …but a retry scheduled further ahead than this is left for the Refresh button. */
const PENDING_WATCH_MS = 60_000;

/** How long until the log should look again for a pending delivery's outcome; null: not soon. */
function nextLookIn(deliveries: WebhookDelivery[] | null, now = Date.now()): number | null {
  const due = (deliveries ?? [])
    .filter((delivery) => delivery.status === 'pending')
    .map((delivery) => Date.parse(delivery.next_attempt_at ?? delivery.created_at) - now);
  if (due.length === 0) return null;
  const soonest = Math.min(...due);
  return soonest > PENDING_WATCH_MS ? null : Math.max(PENDING_POLL_MS, soonest);
}

export interface DeliveryLogProps {
  webhook: Webhook;
  /** Changes when something outside the log added a delivery (a test call): load again. */
  refreshKey: number;
  /** A pending delivery was sent meanwhile: the endpoint's health changed. */
  onSettled: () => void;
}

function DeliveryBodies({ delivery, id }: { delivery: WebhookDelivery; id: string }) {
  return (
    <div class="delivery-bodies" id={id}>
      <div>
        <h4>Request</h4>
        {delivery.request_body === null ? (
          <p class="muted">The event is no longer stored.</p>
        ) : (
          <pre tabIndex={0} aria-label="Request body">
            {readableBody(delivery.request_body)}
          </pre>
        )}
      </div>
      <div>
        <h4>Response</h4>
        {delivery.error && <p class="tone-bad">{delivery.error}</p>}
        {delivery.response_body ? (
          <pre tabIndex={0} aria-label="Response body">
            {readableBody(delivery.response_body)}
          </pre>
        ) : (
          !delivery.error && <p class="muted">{delivery.status === 'pending' ? 'Not sent yet.' : 'Empty.'}</p>
        )}
      </div>
    </div>
  );
}

/** A webhook's delivery attempts, newest first: open one to read its bodies, redeliver its event. */
export function DeliveryLog({ webhook, refreshKey, onSettled }: DeliveryLogProps) {
  const headingId = useId();
  const [deliveries, setDeliveries] = useState<WebhookDelivery[] | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const [redelivering, setRedelivering] = useState<number | null>(null);
  const pendingBefore = useRef(0);

  const load = async (signal?: AbortSignal) => {
    try {
      const loaded = await listDeliveries(webhook.id, LOG_LIMIT, signal);
      const pending = loaded.filter((delivery) => delivery.status === 'pending').length;
      if (pending < pendingBefore.current) onSettled();
      pendingBefore.current = pending;
      setDeliveries(loaded);
      setFailure(null);
    } catch (error) {
      if (!signal?.aborted) setFailure(errorMessage(error));
    }
  };

  useEffect(() => {
    const controller = new AbortController();
    void load(controller.signal);
    return () => controller.abort();
  }, [webhook.id, refreshKey]);

  // A pending delivery due soon (a redelivery, an early retry) is sent by the server: follow it.
  useEffect(() => {
    const delay = nextLookIn(deliveries);
    if (delay === null) return;
    const controller = new AbortController();
    const timer = setTimeout(() => void load(controller.signal), delay);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [deliveries]);

  const sendAgain = async (delivery: WebhookDelivery) => {
    setRedelivering(delivery.id);
    try {
      const scheduled = await redeliver(webhook.id, delivery.id);
      toast.success(`Redelivery of ${delivery.event_type} scheduled.`);
      pendingBefore.current += 1;
      setDeliveries((current) => [scheduled, ...(current ?? [])].slice(0, LOG_LIMIT));
    } catch (error) {
      toast.error(errorMessage(error));
    } finally {
      setRedelivering(null);
    }
  };

  let content;
  if (failure && !deliveries) content = <ErrorState message={failure} onRetry={() => void load()} />;
  else if (!deliveries) content = <Skeleton lines={3} label="Loading deliveries" />;
  else if (deliveries.length === 0) content = <EmptyState title="No deliveries yet">Send a test event, or change a product, to see one here.</EmptyState>;
  else
    content = (
      <div class="table-wrap">
        <table class="delivery-table">
          <caption class="visually-hidden">Deliveries to this endpoint, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col" class="col-event">
                Event
              </th>
              <th scope="col" class="number">
                Code
              </th>
              <th scope="col" class="number">
                Time
              </th>
              <th scope="col" class="number">
                Attempt
              </th>
              <th scope="col">When</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {deliveries.map((delivery) => {
              const status = STATUS_TEXT[delivery.status];
              const when = delivery.attempted_at ?? delivery.created_at;
              const bodiesId = `${headingId}-bodies-${delivery.id}`;
              const expanded = open === delivery.id;
              return (
                <Fragment key={delivery.id}>
                  <tr data-delivery-id={delivery.id}>
                    <td>
                      <span class={`delivery-status tone-${status.tone}`}>
                        <span aria-hidden="true">{status.icon}</span> {status.label}
                      </span>
                    </td>
                    <td class="col-event">
                      <code>{delivery.event_type}</code>
                    </td>
                    <td class="number" data-label="Code">
                      {delivery.response_status ?? '–'}
                    </td>
                    <td class="number" data-label="Time">
                      {delivery.response_time_ms === null ? '–' : `${formatNumber(delivery.response_time_ms)} ms`}
                    </td>
                    <td class="number" data-label="Attempt">
                      {delivery.attempt}
                    </td>
                    <td class="col-when">
                      <time dateTime={when} title={formatDateTime(when)}>
                        {formatRelativeTime(when)}
                      </time>
                    </td>
                    <td class="col-actions">
                      <div class="row-actions">
                        <button
                          type="button"
                          class="button button-small"
                          aria-expanded={expanded}
                          aria-controls={expanded ? bodiesId : undefined}
                          onClick={() => setOpen(expanded ? null : delivery.id)}
                        >
                          Details
                        </button>
                        <button
                          type="button"
                          class="button button-small"
                          disabled={redelivering !== null || delivery.status === 'pending'}
                          onClick={() => void sendAgain(delivery)}
                        >
                          Redeliver
                        </button>
                      </div>
                    </td>
                  </tr>
                  {expanded && (
                    <tr class="delivery-details-row">
                      <td colSpan={7}>
                        <DeliveryBodies delivery={delivery} id={bodiesId} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      </div>
    );

  return (
    <section class="delivery-log" aria-labelledby={headingId}>
      <div class="section-header">
        <h3 id={headingId}>Delivery log</h3>
        <button type="button" class="button button-small" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      {failure && deliveries && (
        <p class="form-error" role="alert">
          {failure}
        </p>
      )}
      {content}
    </section>
  );
}
