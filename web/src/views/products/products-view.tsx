import { EmptyState } from '../../components/states';

/** Placeholder: the Products view is built on branch ui-products. */
export function ProductsView() {
  return (
    <section class="view">
      <h1>Products</h1>
      <EmptyState title="The product list comes here." />
    </section>
  );
}
