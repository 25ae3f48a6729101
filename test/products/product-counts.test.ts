import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { postgresSkipReason, POSTGRES_URL } from '../support/services.js';
import { describeEach } from '../support/suites.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

// PostgreSQL keeps the product count in a few counter rows that each write statement adds to
// (migration 0007, 0012). A transaction holds the counter row it wrote until it ends, so two
// writers on the same row would run one after the other: an API write behind a whole import
// batch. Here a write whose backend maps to the very slot an open transaction holds must not wait.

const SLOTS = 16; // migration 0012
const postgres = [{ name: 'postgres', value: 'postgres' as const, skipped: await postgresSkipReason() }];

describeEach('product counts (%s): writers do not wait on each other', postgres, () => {
  let test: TestApp;
  const clients: pg.Client[] = [];
  const connect = async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    clients.push(client);
    await client.connect();
    await client.query(`set search_path to ${test.store.schema}`);
    // A write that waits on a counter row fails here instead of hanging the test.
    await client.query(`set statement_timeout = '5s'`);
    const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
    return { client, slot: rows[0]!.pid % SLOTS };
  };
  const insertProduct = (client: pg.Client, sku: string, active = 1) =>
    client.query(`insert into products (sku, sku_key, name, active, created_at, updated_at) values ($1, lower($1), 'n', $2, now(), now())`, [sku, active]);
  const listTotals = async () => {
    const all = (await test.app.inject({ url: '/api/products?limit=1' })).json() as { total: number };
    const inactive = (await test.app.inject({ url: '/api/products?limit=1&active=false' })).json() as { total: number };
    return { total: all.total, inactive: inactive.total };
  };

  beforeAll(async () => {
    test = await startTestApp('postgres');
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
    await test?.close();
  });

  it('a write from a backend whose slot an open transaction holds goes through, and the totals stay exact', async () => {
    const holder = await connect();
    await holder.client.query('begin');
    await insertProduct(holder.client, 'HELD-1', 0);

    // Backend ids are handed out in turn: one of the next connections shares the holder's slot.
    let sameSlot: pg.Client | undefined;
    for (let tries = 0; tries < 10 * SLOTS && !sameSlot; tries++) {
      const candidate = await connect();
      if (candidate.slot === holder.slot) sameSlot = candidate.client;
    }
    expect(sameSlot, 'no connection shared the holder’s slot').toBeDefined();
    await insertProduct(sameSlot!, 'OTHER-1');
    await insertProduct(sameSlot!, 'OTHER-2', 0);
    await sameSlot!.query(`delete from products where sku_key = 'other-1'`);
    expect(await listTotals()).toEqual({ total: 1, inactive: 1 });

    await holder.client.query('commit');
    expect(await listTotals()).toEqual({ total: 2, inactive: 2 });
  });
});
