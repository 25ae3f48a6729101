import { EmptyState } from '../../components/states';

export function ImportView() {
  return (
    <section class="view">
      <h1>Import products</h1>
      <EmptyState title="The CSV import comes here." />
    </section>
  );
}
