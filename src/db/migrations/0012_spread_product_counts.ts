import { sql, type Kysely } from 'kysely';
import { isPostgres } from './migration-helpers.js';

// PostgreSQL only: product_counts (migration 0007) no longer makes writers wait on each other.
// There each statement added its deltas to the slot of its backend (pid % 8) and held that row
// locked until its transaction ended, so two transactions whose backends shared a slot ran one
// after the other: an API write behind a whole import batch, two imports' batches in turn.
// Now a statement takes a slot no other transaction holds (its backend's own when free), and
// waits only when every slot is held. The count is still the sum of the slots.

const SLOTS = 16;

export async function up(db: Kysely<any>): Promise<void> {
  if (!isPostgres(db)) return;
  await sql`insert into product_counts (slot, total, inactive)
    select slot, 0, 0 from generate_series(0, ${sql.lit(SLOTS - 1)}) as slot
    on conflict (slot) do nothing`.execute(db);
  await sql`create or replace function product_counts_add(total_delta bigint, inactive_delta bigint) returns void
    language plpgsql set search_path from current as $$
    declare
      own_slot integer := pg_backend_pid() % ${sql.lit(SLOTS)};
      free_slot integer;
    begin
      if total_delta = 0 and inactive_delta = 0 then return; end if;
      -- A transaction that already holds a slot finds it here too: its own locks do not make it skip.
      select slot into free_slot from product_counts
        order by slot = own_slot desc, slot limit 1 for update skip locked;
      update product_counts set total = total + total_delta, inactive = inactive + inactive_delta
        where slot = coalesce(free_slot, own_slot);
    end $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  if (!isPostgres(db)) return;
  await sql`create or replace function product_counts_add(total_delta bigint, inactive_delta bigint) returns void
    language plpgsql set search_path from current as $$
    begin
      if total_delta = 0 and inactive_delta = 0 then return; end if;
      insert into product_counts as counts (slot, total, inactive)
      values (pg_backend_pid() % 8, total_delta, inactive_delta)
      on conflict (slot) do update
        set total = counts.total + excluded.total, inactive = counts.inactive + excluded.inactive;
    end $$`.execute(db);
}
