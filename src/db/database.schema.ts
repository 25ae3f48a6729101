import type { ColumnType, Generated } from 'kysely';

/** A timestamp: written as an ISO-8601 string; read back as a string (SQLite) or a Date (PostgreSQL). */
export type Timestamp = ColumnType<string | Date, string, string>;

export interface ProductsTable {
  id: Generated<number>;
  sku: string;
  /** skuKey(sku): the case- and space-insensitive identity of a product, unique. */
  sku_key: string;
  name: string;
  description: string | null;
  /** Price in cents, so no float ever touches money. */
  price_cents: number | null;
  /** 1 or 0: one integer type that both dialects bind and compare the same way. */
  active: number;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface OutboxEventsTable {
  seq: Generated<number>;
  /** `evt_…`: the webhook-id of every delivery of this event. */
  id: string;
  type: string;
  /** The event's `data`, as JSON text. */
  data: string;
  created_at: Timestamp;
  dispatched_at: Timestamp | null;
}

export interface Tables {
  products: ProductsTable;
  outbox_events: OutboxEventsTable;
}
