import { Type, type Static, type TSchema } from 'typebox';
import { EVENT_TYPES } from '../outbox/outbox.events.js';
import { Text } from '../shared/text.schemas.js';
import { MASKED_SECRET_DESCRIPTION, SECRET_PATTERN } from './webhooks.secret-format.js';

export const URL_MAX_LENGTH = 2048;
export const DESCRIPTION_MAX_LENGTH = 1000;
export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed', 'retrying'] as const;
/** Attempts shown per webhook in `recent_deliveries`. */
export const RECENT_DELIVERIES = 20;

const timestamp = Type.String({ format: 'date-time' });
const nullable = <T extends TSchema>(schema: T, description?: string) =>
  Type.Union([schema, Type.Null()], description ? { description } : {});

export const Webhook = Type.Object(
  {
    id: Type.Integer(),
    url: Type.String({
      description:
        'The endpoint. Credentials in it (`https://user:pass@host/…`) are shown masked (`https://****:****@host/…`) in every answer; sending the URL back as shown keeps it unchanged.',
    }),
    events: Type.Array(Type.String()),
    enabled: Type.Boolean(),
    description: nullable(Type.String()),
    secret: Type.String({
      description: `The signing secret (\`whsec_\` + base64 of the key). In full only in the answers to create and rotate-secret (and GET …/secret); everywhere else masked: ${MASKED_SECRET_DESCRIPTION}.`,
    }),
    disabled_reason: nullable(
      Type.String(),
      'Why the webhook is disabled: by the API, after the endpoint answered 410 Gone, or after 5 days of failed deliveries. Null while enabled.',
    ),
    disabled_at: nullable(timestamp),
    created_at: timestamp,
    updated_at: timestamp,
    last_delivery: nullable(
      Type.Object({
        status: Type.Enum([...DELIVERY_STATUSES]),
        response_status: nullable(Type.Integer()),
        at: timestamp,
      }),
      'The latest delivery attempt; null before the first.',
    ),
    recent_deliveries: Type.Array(
      Type.Object({
        status: Type.Enum(['succeeded', 'failed', 'retrying']),
        response_status: nullable(Type.Integer()),
        at: timestamp,
      }),
      {
        maxItems: RECENT_DELIVERIES,
        description: `The last ${RECENT_DELIVERIES} attempts, newest first (pending ones left out): the endpoint's health at a glance. succeeded is a 2xx; failed and retrying are failed attempts.`,
      },
    ),
  },
  { $id: 'Webhook' },
);
export type Webhook = Static<typeof Webhook>;

export const WebhookDelivery = Type.Object(
  {
    id: Type.Integer(),
    event_id: Type.String({ description: 'The event id, sent as `webhook-id` on every attempt.' }),
    event_type: Type.String(),
    attempt: Type.Integer({ description: '1 for the first attempt (and for a redelivery), then 2, 3…' }),
    status: Type.Enum([...DELIVERY_STATUSES], {
      description:
        'pending: to be sent (at next_attempt_at); succeeded: 2xx; retrying: this attempt failed and the next one is scheduled at next_attempt_at (a new pending row); failed: this attempt failed and no more will be made.',
    }),
    response_status: nullable(Type.Integer()),
    response_time_ms: nullable(Type.Integer()),
    response_body: nullable(Type.String(), 'The first 2 KB of the response body.'),
    error: nullable(Type.String()),
    request_body: nullable(Type.String(), 'The JSON body sent (the same bytes on every attempt of the event); null when the event is no longer stored.'),
    created_at: timestamp,
    attempted_at: nullable(timestamp, 'When this attempt was made; null while pending.'),
    next_attempt_at: nullable(timestamp),
  },
  { $id: 'WebhookDelivery' },
);
export type WebhookDelivery = Static<typeof WebhookDelivery>;

const urlField = Text({
  minLength: 1,
  maxLength: URL_MAX_LENGTH,
  description: `An http:// or https:// URL, at most ${URL_MAX_LENGTH} characters. Its host must not be a link-local or cloud metadata address, nor (unless WEBHOOK_ALLOW_PRIVATE_NETWORKS=true) a loopback, private or unique-local one.`,
});
const eventsField = Type.Array(Type.Enum([...EVENT_TYPES]), {
  minItems: 1,
  maxItems: 50,
  description: 'The event types to receive (duplicates are ignored).',
});
const eventTypeField = Type.Enum([...EVENT_TYPES], { description: 'One event type: an alternative to `events`.' });
const descriptionField = nullable(Text({ maxLength: DESCRIPTION_MAX_LENGTH }), `At most ${DESCRIPTION_MAX_LENGTH} characters.`);
const secretField = Text({
  pattern: SECRET_PATTERN,
  maxLength: 100,
  description: '`whsec_` + base64 of 24–64 random bytes. Generated (32 bytes) when not given.',
});

export const WebhookCreate = Type.Object(
  {
    url: urlField,
    events: Type.Optional(eventsField),
    event_type: Type.Optional(eventTypeField),
    enabled: Type.Optional(Type.Boolean({ description: 'Defaults to true.' })),
    description: Type.Optional(descriptionField),
    secret: Type.Optional(secretField),
  },
  { additionalProperties: false, description: 'Give `events` or `event_type`.' },
);
export type WebhookCreate = Static<typeof WebhookCreate>;

/** Read-only fields a client may echo back from a GET; accepted and ignored on update. */
const ignored = Type.Optional(Type.Unknown({ description: 'Ignored (read-only).' }));

export const WebhookUpdate = Type.Object(
  {
    url: Type.Optional(urlField),
    events: Type.Optional(eventsField),
    event_type: Type.Optional(eventTypeField),
    enabled: Type.Optional(
      Type.Boolean({ description: 'false disables (pending deliveries are dropped); true enables again and clears disabled_reason.' }),
    ),
    description: Type.Optional(descriptionField),
    secret: Type.Optional(
      Text({
        pattern: `${SECRET_PATTERN}|^whsec_\\*{8}`,
        maxLength: 100,
        description: 'A new secret (`whsec_` + base64 of 24–64 bytes). The masked value a GET shows is accepted and ignored.',
      }),
    ),
    id: ignored,
    created_at: ignored,
    updated_at: ignored,
    disabled_reason: ignored,
    disabled_at: ignored,
    last_delivery: ignored,
    recent_deliveries: ignored,
  },
  { additionalProperties: false, description: 'Only the fields given change.' },
);
export type WebhookUpdate = Static<typeof WebhookUpdate>;

export const WebhookTestBody = Type.Object(
  { data: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Becomes the `data` of the test event.' })) },
  { additionalProperties: false },
);
export type WebhookTestBody = Static<typeof WebhookTestBody>;

export const WebhookTestResult = Type.Object({
  success: Type.Boolean({ description: 'True when the endpoint answered 2xx.' }),
  status_code: nullable(Type.Integer(), 'Null when no answer came (timeout, network error, refused address).'),
  response_time_ms: nullable(Type.Integer()),
  error: nullable(Type.String()),
});
export type WebhookTestResult = Static<typeof WebhookTestResult>;

export const WebhookSecret = Type.Object({ secret: Type.String() });

export const DeliveryListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50, description: 'At most 200; default 50.' })),
});
export type DeliveryListQuery = Static<typeof DeliveryListQuery>;

export const DeliveryParams = Type.Object({
  id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'Webhook id.' }),
  delivery_id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'Delivery id.' }),
});
