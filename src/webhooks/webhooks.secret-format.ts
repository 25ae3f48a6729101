// How a webhook secret looks, for the schemas. Kept apart from webhooks.signing.ts (node:crypto)
// so the web UI can take the webhook types from the schemas without Node's types.

/** `whsec_` + base64 in its canonical padded form. */
export const SECRET_PATTERN = '^whsec_(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$';
export const MASKED_SECRET_DESCRIPTION = '`whsec_********` followed by the last 4 characters of the secret';
