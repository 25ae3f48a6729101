// Credentials in a webhook URL (`https://user:pass@host/…`) are a secret like the signing
// secret: never shown back in full, never logged, never kept in a delivery's error text.

const MASK = '****';

/** The URL with its user name and password (each one present) replaced by `****`; other URLs unchanged. */
export function maskUrlCredentials(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return redactUrlCredentials(url);
  }
  if (!parsed.username && !parsed.password) return url;
  if (parsed.username) parsed.username = MASK;
  if (parsed.password) parsed.password = MASK;
  return parsed.toString();
}

/** True when the URL's user name or password is the mask a read shows. */
export function hasMaskedCredentials(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.username === MASK || parsed.password === MASK;
  } catch {
    return false;
  }
}

/** Any text (an error message, a log line) with the credentials of every URL in it replaced by `****`. */
export function redactUrlCredentials(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi, `$1${MASK}@`);
}
