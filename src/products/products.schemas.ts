import { Type, type Static } from 'typebox';
import { Text } from '../shared/text.schemas.js';
import {
  DESCRIPTION_MAX_LENGTH,
  NAME_MAX_LENGTH,
  NAME_PATTERN,
  PRICE_MAX_INTEGER_DIGITS,
  PRICE_PATTERN,
  SKU_MAX_LENGTH,
  SKU_PATTERN,
} from './products.rules.js';

export const Product = Type.Object(
  {
    id: Type.Integer(),
    sku: Type.String({ description: 'As last written (trimmed); unique case-insensitively.' }),
    name: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    price: Type.Union([Type.String({ examples: ['899.99'] }), Type.Null()], {
      description: 'Decimal string with two decimals; null when unknown.',
    }),
    active: Type.Boolean(),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'Product' },
);
export type Product = Static<typeof Product>;

const skuField = Text({
  minLength: 1,
  maxLength: SKU_MAX_LENGTH * 4,
  pattern: SKU_PATTERN,
  description: `1–${SKU_MAX_LENGTH} characters after trimming surrounding whitespace, no control characters. Unique case-insensitively.`,
});
const nameField = Text({
  minLength: 1,
  maxLength: NAME_MAX_LENGTH,
  pattern: NAME_PATTERN,
  description: `1–${NAME_MAX_LENGTH} characters, not blank.`,
});
const descriptionField = Type.Union([Text({ maxLength: DESCRIPTION_MAX_LENGTH }), Type.Null()], {
  description: `At most ${DESCRIPTION_MAX_LENGTH} characters.`,
});
const priceField = Type.Union(
  [Text({ pattern: PRICE_PATTERN }), Type.Number({ minimum: 0, maximum: 10 ** PRICE_MAX_INTEGER_DIGITS }), Type.Null()],
  { description: 'Decimal ≥ 0 with at most 2 decimal places, as a string ("899.99") or a number; null for unknown.' },
);
const activeField = Type.Boolean({ description: 'Defaults to true.' });

/** Read-only fields a client may echo back from a GET; accepted and ignored on update. */
const readOnlyEchoes = {
  id: Type.Optional(Type.Unknown({ description: 'Ignored (read-only).' })),
  created_at: Type.Optional(Type.Unknown({ description: 'Ignored (read-only).' })),
  updated_at: Type.Optional(Type.Unknown({ description: 'Ignored (read-only).' })),
};

export const ProductCreate = Type.Object(
  {
    sku: skuField,
    name: nameField,
    description: Type.Optional(descriptionField),
    price: Type.Optional(priceField),
    active: Type.Optional(activeField),
  },
  { additionalProperties: false },
);
export type ProductCreate = Static<typeof ProductCreate>;

export const ProductUpdate = Type.Object(
  {
    sku: Type.Optional(skuField),
    name: Type.Optional(nameField),
    description: Type.Optional(descriptionField),
    price: Type.Optional(priceField),
    active: Type.Optional(activeField),
    ...readOnlyEchoes,
  },
  { additionalProperties: false, description: 'Only the fields given change.' },
);
export type ProductUpdate = Static<typeof ProductUpdate>;

export const PRODUCT_SORT_FIELDS = ['id', 'sku', 'name', 'price', 'created_at', 'updated_at'] as const;
export type ProductSortField = (typeof PRODUCT_SORT_FIELDS)[number];

/** Filters shared by the list and the CSV export. */
const filterFields = {
  q: Type.Optional(
    Text({
      maxLength: 255,
      description:
        'Case-insensitive substring of sku, name or description (literal: % _ \\ match themselves). Answered from a trigram index for 3+ characters; shorter terms scan. The list counts at most 10,000 matches (see total_exact). Products written through the API are found at once; rows an import writes, from its completion (while a job runs, searches skip those not indexed yet).',
    }),
  ),
  search: Type.Optional(Text({ maxLength: 255, description: 'Alias of q.' })),
  sku: Type.Optional(Text({ maxLength: SKU_MAX_LENGTH, description: 'Case-insensitive prefix of sku.' })),
  name: Type.Optional(Text({ maxLength: 255, description: 'Case-insensitive substring of name.' })),
  description: Type.Optional(Text({ maxLength: 255, description: 'Case-insensitive substring of description.' })),
  active: Type.Optional(Type.Boolean({ description: 'true or false.' })),
  sort: Type.Optional(
    Type.Enum([...PRODUCT_SORT_FIELDS], { default: 'id', description: 'Sort field; ties are broken by id.' }),
  ),
  order: Type.Optional(Type.Enum(['asc', 'desc'], { default: 'asc' })),
};

export const ProductExportQuery = Type.Object(filterFields);
export type ProductExportQuery = Static<typeof ProductExportQuery>;

export const ProductListQuery = Type.Object({
  ...filterFields,
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000, default: 1 })),
  page_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
});
export type ProductListQuery = Static<typeof ProductListQuery>;

export const ProductPage = Type.Object({
  items: Type.Array(Type.Ref('Product')),
  total: Type.Integer({
    description:
      'Matching products. A text search (q, name, description) stops counting past 10,000: then total is 10000 and total_exact false.',
  }),
  total_exact: Type.Boolean({ description: 'False when total is a lower bound (a text search matching more than 10,000 products).' }),
  search_complete: Type.Boolean({
    description:
      'False when a text search (q, name, description) left out rows an import wrote that are not indexed yet: while a job runs they are skipped, and they are found once it ends. Always true without a text filter.',
  }),
  page: Type.Integer(),
  page_size: Type.Integer(),
  pages: Type.Integer({ description: 'ceil(total / page_size); 0 when nothing matches.' }),
});
export type ProductPage = Static<typeof ProductPage>;

export const DeleteProductQuery = Type.Object({
  soft: Type.Optional(Type.Boolean({ default: false, description: 'Mark inactive instead of deleting.' })),
});

export const DeleteSelectedBody = Type.Object(
  { ids: Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, maxItems: 10_000, uniqueItems: false }) },
  { additionalProperties: false },
);
export type DeleteSelectedBody = Static<typeof DeleteSelectedBody>;

export const DeleteSelectedResponse = Type.Object({ deleted: Type.Integer() });
