// The create/edit dialog's values, the request body made from them, and the server's
// answers (422 details, 409) placed next to the fields they are about. The server is the
// one judge of what is valid: the form sends what was typed and shows what it says.
import { ApiError, errorMessage } from '../../api/client';
import type { Product, ProductCreate, ProductUpdate } from '../../api/types';

export const FORM_FIELDS = ['sku', 'name', 'description', 'price', 'active'] as const;
export type FormField = (typeof FORM_FIELDS)[number];

export interface ProductFormValues {
  sku: string;
  name: string;
  description: string;
  price: string;
  active: boolean;
}

/** The fields of a product the form edits. */
export type EditableProduct = Pick<Product, 'sku' | 'name' | 'description' | 'price' | 'active'>;

export const EMPTY_FORM: ProductFormValues = { sku: '', name: '', description: '', price: '', active: true };

export function formValuesOf(product: EditableProduct): ProductFormValues {
  return {
    sku: product.sku,
    name: product.name,
    description: product.description ?? '',
    price: product.price ?? '',
    active: product.active,
  };
}

/** Everything typed, for a create; an empty description or price means "none". */
export function createBody(values: ProductFormValues): ProductCreate & EditableProduct {
  return {
    sku: values.sku,
    name: values.name,
    description: values.description === '' ? null : values.description,
    price: values.price.trim() === '' ? null : values.price.trim(),
    active: values.active,
  };
}

/** Only what changed, for an edit, so a save never overwrites a field the user left alone. */
export function updateBody(original: EditableProduct, values: ProductFormValues): ProductUpdate {
  const full = createBody(values);
  const body: ProductUpdate = {};
  if (full.sku !== original.sku) body.sku = full.sku;
  if (full.name !== original.name) body.name = full.name;
  if (full.description !== original.description) body.description = full.description;
  if (full.price !== original.price) body.price = full.price;
  if (full.active !== original.active) body.active = full.active;
  return body;
}

export interface FormErrors {
  fields: Partial<Record<FormField, string>>;
  /** Problems not tied to one of the form's fields, in words. */
  general: string[];
}

export const NO_ERRORS: FormErrors = { fields: {}, general: [] };

const capitalised = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
const isFormField = (name: string): name is FormField => (FORM_FIELDS as readonly string[]).includes(name);

/**
 * The server's refusal placed where it belongs: a 422's messages next to their fields, a 409
 * (duplicate SKU) on the SKU, anything else above the form.
 */
export function formErrorsOf(error: unknown): FormErrors {
  if (!(error instanceof ApiError)) return { fields: {}, general: [errorMessage(error)] };
  if (error.status === 409) return { fields: { sku: error.message }, general: [] };
  const errors: FormErrors = { fields: {}, general: [] };
  for (const [name, message] of Object.entries(error.fieldMessages())) {
    if (isFormField(name)) errors.fields[name] = capitalised(message);
    else errors.general.push(message);
  }
  if (error.issues.length === 0) errors.general.push(error.message);
  return errors;
}
