import { createHmac, randomBytes } from 'node:crypto';

// Standard Webhooks (https://www.standardwebhooks.com/) signing: the secret is `whsec_` +
// base64 of the key bytes; the signature is `v1,` + base64 HMAC-SHA256 of "{id}.{timestamp}.{body}".

const PREFIX = 'whsec_';
export const SECRET_KEY_BYTES = 32;
/** Accepted length of a secret a client chooses (the range other Standard Webhooks senders accept). */
export const SECRET_MIN_KEY_BYTES = 24;
export const SECRET_MAX_KEY_BYTES = 64;

export function generateSecret(): string {
  return PREFIX + randomBytes(SECRET_KEY_BYTES).toString('base64');
}

export function secretKeyBytes(secret: string): Buffer {
  return Buffer.from(secret.slice(PREFIX.length), 'base64');
}

export function hasValidKeyLength(secret: string): boolean {
  const length = secretKeyBytes(secret).length;
  return length >= SECRET_MIN_KEY_BYTES && length <= SECRET_MAX_KEY_BYTES;
}

const MASK = `${PREFIX}********`;

/** What reads show instead of the secret: enough to tell two secrets apart, useless for signing. */
export function maskSecret(secret: string): string {
  return MASK + secret.slice(-4);
}

export function isMaskedSecret(value: string): boolean {
  return value.startsWith(MASK);
}

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

export function signatureHeaders(eventId: string, body: string, secret: string, timestampSeconds: number): SignedHeaders {
  const signature = createHmac('sha256', secretKeyBytes(secret)).update(`${eventId}.${timestampSeconds}.${body}`).digest('base64');
  return {
    'webhook-id': eventId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': `v1,${signature}`,
  };
}
