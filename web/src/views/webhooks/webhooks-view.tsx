import { EmptyState } from '../../components/states';

/** Placeholder: the Webhooks view is built on branch ui-webhooks. */
export function WebhooksView() {
  return (
    <section class="view">
      <h1>Webhooks</h1>
      <EmptyState title="The webhook list comes here." />
    </section>
  );
}
