import { formatDateTime, formatPercent, formatRelativeTime } from '../../components/formatting';
import type { Webhook } from '../../api/types';
import { healthOf, STATUS_TEXT } from './webhook-format';

/** The last delivery's outcome, in words. */
export function LastDelivery({ webhook }: { webhook: Webhook }) {
  const last = webhook.last_delivery;
  if (!last) return <span class="muted">No deliveries yet</span>;
  const status = STATUS_TEXT[last.status];
  return (
    <span class={`delivery-status tone-${status.tone}`}>
      <span aria-hidden="true">{status.icon}</span> Last: {status.label}
      {last.response_status !== null && ` (${last.response_status})`},{' '}
      <time dateTime={last.at} title={formatDateTime(last.at)}>
        {formatRelativeTime(last.at)}
      </time>
    </span>
  );
}

/**
 * Recent attempts as a strip of green and red marks, oldest on the left. One text alternative for
 * the whole strip (a screen reader should not read twenty marks), and a tooltip per mark.
 */
export function HealthStrip({ webhook }: { webhook: Webhook }) {
  const health = healthOf(webhook);
  if (health.rate === null) return null;
  const failed = health.attempts - health.succeeded;
  const summary = `Last ${health.attempts} attempts: ${health.succeeded} succeeded, ${failed} failed`;
  return (
    <div class="health">
      <span class="health-strip" role="img" aria-label={summary}>
        {[...webhook.recent_deliveries].reverse().map((attempt, index) => (
          <span
            key={index}
            class={`health-mark tone-${STATUS_TEXT[attempt.status].tone}`}
            title={`${STATUS_TEXT[attempt.status].label}${attempt.response_status === null ? '' : ` (${attempt.response_status})`}, ${formatDateTime(attempt.at)}`}
          />
        ))}
      </span>
      <span class="health-rate">
        {formatPercent(health.rate)} of the last {health.attempts} succeeded
      </span>
    </div>
  );
}
