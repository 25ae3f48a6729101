import { useSignal } from '@preact/signals';
import { LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { useEffect, useRef } from 'preact/hooks';
import { errorMessage } from './api/client';
import { loadSession, signOut } from './api/session';
import { needsSignIn, session } from './api/session-state';
import { ErrorState, Skeleton } from './components/states';
import { toast, ToastRegion } from './components/toasts';
import { signInUrl } from './navigation';
import { ImportView } from './views/import/import-view';
import { ProductsView } from './views/products/products-view';
import { SignInView } from './views/sign-in/sign-in-view';
import { WebhooksView } from './views/webhooks/webhooks-view';

const NAV_ITEMS = [
  { href: '/import', label: 'Import', matches: (path: string) => path === '/' || path.startsWith('/import') },
  { href: '/products', label: 'Products', matches: (path: string) => path.startsWith('/products') },
  { href: '/webhooks', label: 'Webhooks', matches: (path: string) => path.startsWith('/webhooks') },
];

function Header() {
  const { path, route } = useLocation();
  const state = session.value;
  const signedIn = state !== null && state.auth_required && state.authenticated;
  const onSignOut = async () => {
    try {
      await signOut();
      route('/sign-in');
      toast.success('Signed out.');
    } catch (error) {
      toast.error(errorMessage(error));
    }
  };
  return (
    <header class="app-header">
      <a class="brand" href="/">
        <span class="brand-mark" aria-hidden="true">▦</span> Product Importer
      </a>
      {!needsSignIn(state) && (
        <nav class="app-nav" aria-label="Main">
          {NAV_ITEMS.map((item) => (
            <a key={item.href} href={item.href} aria-current={item.matches(path) ? 'page' : undefined}>
              {item.label}
            </a>
          ))}
        </nav>
      )}
      {signedIn && (
        <button type="button" class="button button-quiet sign-out" onClick={onSignOut}>
          Sign out
        </button>
      )}
    </header>
  );
}

function NotFound() {
  return (
    <section class="view">
      <h1>Page not found</h1>
      <p>
        <a href="/">Go to the import page</a>
      </p>
    </section>
  );
}

/** Shows the views once the session is known; sends people to sign in when the server wants it. */
function Main() {
  const { path, url, route } = useLocation();
  const failure = useSignal<string | null>(null);
  const state = session.value;

  const check = () => {
    failure.value = null;
    loadSession().catch((error: unknown) => (failure.value = errorMessage(error)));
  };
  useEffect(check, []);

  const mustSignIn = needsSignIn(state);
  useEffect(() => {
    if (mustSignIn && path !== '/sign-in') route(signInUrl(url), true);
  }, [mustSignIn, path]);

  // Focus the main region after a navigation (not on the first load, where the page's own autofocus
  // applies), so keyboard and screen-reader users start at the new view.
  const firstPath = useRef(path);
  useEffect(() => {
    if (path !== firstPath.current) document.getElementById('main')?.focus({ preventScroll: true });
    firstPath.current = '';
  }, [path]);

  if (failure.value) return <ErrorState message={failure.value} onRetry={check} />;
  if (state === null || (mustSignIn && path !== '/sign-in')) return <Skeleton lines={4} label="Loading the app" />;
  return (
    <Router>
      <Route path="/" component={ImportView} />
      <Route path="/import" component={ImportView} />
      <Route path="/products/*" component={ProductsView} />
      <Route path="/products" component={ProductsView} />
      <Route path="/webhooks/*" component={WebhooksView} />
      <Route path="/webhooks" component={WebhooksView} />
      <Route path="/sign-in" component={SignInView} />
      <Route default component={NotFound} />
    </Router>
  );
}

export function App() {
  return (
    <LocationProvider>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <Header />
      <main id="main" class="app-main" tabIndex={-1}>
        <Main />
      </main>
      <ToastRegion />
    </LocationProvider>
  );
}
