import { currentUrl, navigate, signInUrl } from '../navigation';
import { session } from './session-state';
import type { ValidationIssue } from './types';

export type QueryValue = string | number | boolean | null | undefined;
export type Query = Record<string, QueryValue>;

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  query?: Query;
  /** Sent as JSON. */
  body?: unknown;
  signal?: AbortSignal;
}

/** A refused or failed API call: the HTTP status and the server's `detail` in words. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** 422: one entry per problem, to show next to the fields. */
    readonly issues: ValidationIssue[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The 422 messages by field name (the last part of `loc`), for inline form errors. */
  fieldMessages(): Record<string, string> {
    const messages: Record<string, string> = {};
    for (const issue of this.issues) {
      const field = String(issue.loc[issue.loc.length - 1] ?? '');
      messages[field] = messages[field] ? `${messages[field]}; ${issue.msg}` : issue.msg;
    }
    return messages;
  }
}

/** `/api/x` plus the query's set values (`undefined`, `null` and `''` are left out). */
export function apiUrl(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
  }
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

function issueText(issue: ValidationIssue): string {
  const where = issue.loc.filter((part, index) => !(index === 0 && ['body', 'query', 'path'].includes(String(part))));
  return where.length > 0 ? `${where.join('.')}: ${issue.msg}` : issue.msg;
}

const STATUS_WORDS: Record<number, string> = {
  401: 'You are not signed in.',
  403: 'This request was refused.',
  404: 'Not found.',
  413: 'The upload is too large.',
  415: 'This kind of file is not accepted.',
  429: 'Too many requests; try again in a moment.',
  500: 'The server failed; try again.',
  502: 'The server cannot be reached.',
  503: 'The server is not available right now.',
};

/** An ApiError from a response's status and body text (JSON `{"detail": …}` when the server wrote it). */
export function apiErrorFrom(status: number, bodyText: string): ApiError {
  let detail: unknown;
  try {
    detail = (JSON.parse(bodyText) as { detail?: unknown }).detail;
  } catch {
    detail = undefined;
  }
  if (typeof detail === 'string' && detail) return new ApiError(status, detail);
  if (Array.isArray(detail)) {
    const issues = detail as ValidationIssue[];
    return new ApiError(status, issues.map(issueText).join('; ') || 'The request was not valid.', issues);
  }
  return new ApiError(status, STATUS_WORDS[status] ?? `The server answered ${status}.`);
}

/** A thrown value as a sentence for people (toasts, error states). */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof DOMException && error.name === 'AbortError') return 'Cancelled.';
  if (error instanceof TypeError) return 'The server cannot be reached. Check your connection and try again.';
  return error instanceof Error ? error.message : String(error);
}

/**
 * Every 401 outside the session endpoints means the session ended: the app shows its sign-in page
 * and comes back here afterwards.
 */
export function handleUnauthorized(path: string): void {
  if (path.startsWith('/api/session')) return;
  session.value = { auth_required: true, authenticated: false };
  if (!location.pathname.startsWith('/sign-in')) navigate(signInUrl(currentUrl()));
}

/** A JSON call to the API; resolves with the parsed body (undefined for 204), rejects with ApiError. */
export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(apiUrl(path, options.query), {
    method: options.method ?? 'GET',
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    credentials: 'same-origin',
    signal: options.signal,
  });
  if (!response.ok) {
    if (response.status === 401) handleUnauthorized(path);
    throw apiErrorFrom(response.status, await response.text());
  }
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}
