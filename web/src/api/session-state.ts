import { signal } from '@preact/signals';
import type { SessionState } from './types';

/** What GET /api/session said; null until it answered. The API client marks it signed out on a 401. */
export const session = signal<SessionState | null>(null);

export function needsSignIn(state: SessionState | null): boolean {
  return state !== null && state.auth_required && !state.authenticated;
}
