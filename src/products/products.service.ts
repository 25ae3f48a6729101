import { isUniqueViolation, type Database } from '../db/database.js';
import type { Executor } from '../db/database.schema.js';
import { appendOutboxEvent, appendOutboxEvents } from '../outbox/outbox.repository.js';
import type { OutboxSignal } from '../outbox/outbox.signal.js';
import { ConflictError, NotFoundError, RequestValidationError } from '../shared/http-errors.js';
import {
  deleteProductById,
  deleteProductsByIds,
  findProductById,
  insertProduct,
  listProducts,
  streamProducts,
  updateProductById,
  type NewProductRow,
  type ProductFilter,
  type ProductOrder,
  type ProductRow,
} from './products.repository.js';
import { centsToPrice, normalisePriceInput, priceToCents } from './products.rules.js';
import type { Product, ProductCreate, ProductExportQuery, ProductListQuery, ProductPage, ProductUpdate } from './products.schemas.js';

export function toProduct(row: ProductRow): Product {
  return {
    id: row.id,
    sku: row.sku,
    name: row.name,
    description: row.description,
    price: centsToPrice(row.price_cents === null ? null : Number(row.price_cents)),
    active: Boolean(row.active),
    created_at: new Date(row.created_at).toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
  };
}

function priceCentsOf(price: string | number | null): number | null {
  if (price === null) return null;
  const canonical = normalisePriceInput(price);
  if (canonical === null) {
    throw new RequestValidationError([
      { loc: ['body', 'price'], msg: 'must be a decimal ≥ 0 with at most 2 decimal places', type: 'decimal_invalid' },
    ]);
  }
  return priceToCents(canonical);
}

function skuConflict(sku: string): ConflictError {
  return new ConflictError(`A product with SKU "${sku.trim()}" already exists (SKUs are compared ignoring case).`);
}

function filterOf(query: ProductExportQuery): ProductFilter {
  return {
    q: query.q ?? query.search,
    sku: query.sku,
    name: query.name,
    description: query.description,
    active: query.active,
  };
}

function orderOf(query: ProductExportQuery): ProductOrder {
  return { sort: query.sort ?? 'id', order: query.order ?? 'asc' };
}

export interface ProductsService {
  list(query: ProductListQuery): Promise<Omit<ProductPage, 'items'> & { items: Product[] }>;
  get(id: number): Promise<Product>;
  create(input: ProductCreate): Promise<Product>;
  update(id: number, input: ProductUpdate): Promise<Product>;
  remove(id: number): Promise<void>;
  deactivate(id: number): Promise<Product>;
  removeSelected(ids: number[]): Promise<number>;
  exportRows(query: ProductExportQuery, write: (rows: AsyncIterable<Product>) => Promise<void>): Promise<void>;
}

export interface ProductsServiceDeps {
  database: Database;
  /** Told after each committed write (each appends outbox events), so webhooks go out at once. */
  outboxSignal?: OutboxSignal;
}

export function createProductsService({ database, outboxSignal }: ProductsServiceDeps): ProductsService {
  const { db } = database;
  const { searchIndex } = database.dialect;

  /** Runs a write and its outbox event in one transaction; a SKU clash becomes 409. */
  async function write<T>(sku: string | undefined, work: (trx: Executor, now: string) => Promise<T>): Promise<T> {
    try {
      const result = await db.transaction().execute((trx) => work(trx, new Date().toISOString()));
      outboxSignal?.notify();
      return result;
    } catch (error) {
      if (sku !== undefined && isUniqueViolation(error)) throw skuConflict(sku);
      throw error;
    }
  }

  function update(id: number, input: ProductUpdate): Promise<Product> {
    const changes: Partial<NewProductRow> = {};
    if (input.sku !== undefined) changes.sku = input.sku;
    if (input.name !== undefined) changes.name = input.name;
    if (input.description !== undefined) changes.description = input.description;
    if (input.price !== undefined) changes.price_cents = priceCentsOf(input.price);
    if (input.active !== undefined) changes.active = input.active;
    const indexedChanged = Object.keys(changes).some((column) => searchIndex.indexedColumns.has(column));
    return write(input.sku, async (trx, now) => {
      const row = await updateProductById(trx, id, changes, now);
      if (!row) throw new NotFoundError('Product');
      if (indexedChanged) await searchIndex.indexNow(trx, [id]);
      const product = toProduct(row);
      await appendOutboxEvent(trx, 'product.updated', product, now);
      return product;
    });
  }

  return {
    async list(query) {
      const page = query.page ?? 1;
      const pageSize = query.page_size ?? 20;
      const { rows, total, totalExact, searchComplete } = await listProducts(db, filterOf(query), orderOf(query), {
        offset: (page - 1) * pageSize,
        limit: pageSize,
      });
      return {
        items: rows.map(toProduct),
        total,
        total_exact: totalExact,
        search_complete: searchComplete,
        page,
        page_size: pageSize,
        pages: Math.ceil(total / pageSize),
      };
    },

    async get(id) {
      const row = await findProductById(db, id);
      if (!row) throw new NotFoundError('Product');
      return toProduct(row);
    },

    create(input) {
      const values: NewProductRow = {
        sku: input.sku,
        name: input.name,
        description: input.description ?? null,
        price_cents: priceCentsOf(input.price ?? null),
        active: input.active ?? true,
      };
      return write(input.sku, async (trx, now) => {
        const row = await insertProduct(trx, values, now);
        await searchIndex.indexNow(trx, [row.id]);
        const product = toProduct(row);
        await appendOutboxEvent(trx, 'product.created', product, now);
        return product;
      });
    },

    update,

    async remove(id) {
      await write(undefined, async (trx, now) => {
        const row = await deleteProductById(trx, id);
        if (!row) throw new NotFoundError('Product');
        await appendOutboxEvent(trx, 'product.deleted', toProduct(row), now);
      });
    },

    deactivate(id) {
      return update(id, { active: false });
    },

    removeSelected(ids) {
      return write(undefined, async (trx, now) => {
        const rows = await deleteProductsByIds(trx, [...new Set(ids)]);
        await appendOutboxEvents(trx, 'product.deleted', rows.map(toProduct), now);
        return rows.length;
      });
    },

    async exportRows(query, writeRows) {
      await database.withStreamingReader(async (reader) => {
        const rows = streamProducts(reader, filterOf(query), orderOf(query));
        await writeRows(mapAsync(rows, toProduct));
      });
    },
  };
}

async function* mapAsync<T, U>(source: AsyncIterable<T>, map: (item: T) => U): AsyncIterable<U> {
  for await (const item of source) yield map(item);
}

