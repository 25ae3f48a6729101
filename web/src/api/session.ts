import { ApiError, request } from './client';
import { session } from './session-state';
import type { SessionState } from './types';

/** Asks the server whether a sign-in is needed (GET /api/session) and remembers the answer. */
export async function loadSession(): Promise<SessionState> {
  let state: SessionState;
  try {
    state = await request<SessionState>('/api/session');
  } catch (error) {
    // A server without session endpoints has no sign-in either.
    if (error instanceof ApiError && error.status === 404) state = { auth_required: false, authenticated: true };
    else throw error;
  }
  session.value = state;
  return state;
}

/** Exchanges the API token for the session cookie (HttpOnly: the page never sees it again). */
export async function signIn(token: string): Promise<void> {
  await request<void>('/api/session', { method: 'POST', body: { token } });
  await loadSession();
}

export async function signOut(): Promise<void> {
  await request<void>('/api/session', { method: 'DELETE' });
  await loadSession();
}
