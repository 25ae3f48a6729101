import { useLocation } from 'preact-iso';
import { useState } from 'preact/hooks';
import { errorMessage } from '../../api/client';
import { signIn } from '../../api/session';
import { session } from '../../api/session-state';

/** Only same-app paths are followed after sign-in (never another site from a crafted link). */
function safeNext(next: string | undefined): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/sign-in') ? next : '/';
}

export function SignInView() {
  const { query, route } = useLocation();
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const state = session.value;

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!token.trim()) {
      setFailure('Enter the API token.');
      return;
    }
    setBusy(true);
    setFailure(null);
    try {
      await signIn(token.trim());
      route(safeNext(query.next), true);
    } catch (error) {
      setFailure(errorMessage(error));
      setBusy(false);
    }
  };

  if (state && !state.auth_required) {
    return (
      <section class="view sign-in">
        <h1>Sign in</h1>
        <p>This server has no API token configured, so no sign-in is needed.</p>
        <p>
          <a href="/">Go to the import page</a>
        </p>
      </section>
    );
  }
  if (state?.authenticated) {
    return (
      <section class="view sign-in">
        <h1>Signed in</h1>
        <p>
          <a href={safeNext(query.next)}>Continue</a>
        </p>
      </section>
    );
  }

  return (
    <section class="view sign-in">
      <form class="card sign-in-card" onSubmit={submit} noValidate>
        <h1>Sign in</h1>
        <p class="muted">Enter the server's API token (the API_TOKEN setting). It is exchanged for a session cookie and not stored by the page.</p>
        <label class="field">
          <span>API token</span>
          <input
            type="password"
            name="token"
            autoComplete="current-password"
            value={token}
            onInput={(event) => setToken(event.currentTarget.value)}
            aria-invalid={failure ? true : undefined}
            aria-describedby={failure ? 'sign-in-error' : undefined}
            autofocus
          />
        </label>
        {failure && (
          <p id="sign-in-error" class="form-error" role="alert">
            {failure}
          </p>
        )}
        <button type="submit" class="button button-primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </section>
  );
}
