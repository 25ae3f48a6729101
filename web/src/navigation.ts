/**
 * Moves the app to another of its URLs from outside a component (e.g. the API client on a 401).
 * The router (preact-iso) follows popstate, so a pushed entry plus that event is a navigation.
 */
export function navigate(url: string, replace = false): void {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function currentUrl(): string {
  return location.pathname + location.search;
}

/** The sign-in page, remembering where to come back to. */
export function signInUrl(next = currentUrl()): string {
  return next.startsWith('/sign-in') ? '/sign-in' : `/sign-in?next=${encodeURIComponent(next)}`;
}
