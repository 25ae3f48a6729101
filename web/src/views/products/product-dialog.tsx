import { useId, useState } from 'preact/hooks';
import type { Product } from '../../api/types';
import { Dialog } from '../../components/dialog';
import {
  createBody,
  EMPTY_FORM,
  formErrorsOf,
  formValuesOf,
  NO_ERRORS,
  updateBody,
  type FormErrors,
  type FormField,
  type ProductFormValues,
} from './product-form';
import { createProduct, updateProduct } from './products-api';

export interface ProductDialogProps {
  /** null: closed; 'new': create; a product: edit it. */
  editing: Product | 'new' | null;
  onClose: () => void;
  onSaved: (product: Product, created: boolean) => void;
}

/** Create or edit a product; the server's refusals appear next to the fields they are about. */
export function ProductDialog({ editing, onClose, onSaved }: ProductDialogProps) {
  if (editing === null) return null;
  // A fresh form (and dialog) each time one opens, filled from the product from its first frame.
  const original = editing === 'new' ? null : editing;
  return <ProductFormDialog key={original?.id ?? 'new'} original={original} onClose={onClose} onSaved={onSaved} />;
}

function ProductFormDialog({ original, onClose, onSaved }: { original: Product | null } & Omit<ProductDialogProps, 'editing'>) {
  const formId = useId();
  const [values, setValues] = useState<ProductFormValues>(() => (original ? formValuesOf(original) : EMPTY_FORM));
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [busy, setBusy] = useState(false);

  const set = <K extends FormField>(field: K, value: ProductFormValues[K]) => setValues((previous) => ({ ...previous, [field]: value }));

  const save = async (event: Event) => {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    setErrors(NO_ERRORS);
    try {
      if (original) {
        const changes = updateBody(original, values);
        const saved = Object.keys(changes).length === 0 ? original : await updateProduct(original.id, changes);
        onSaved(saved, false);
      } else {
        onSaved(await createProduct(createBody(values)), true);
      }
    } catch (error) {
      const found = formErrorsOf(error);
      setErrors(found);
      setBusy(false);
      // Take the user to the first field the server refused.
      const first = Object.keys(found.fields)[0];
      if (first) document.getElementById(`${formId}-${first}`)?.focus();
    }
  };

  const fieldProps = (field: FormField) => {
    const message = errors.fields[field];
    return {
      id: `${formId}-${field}`,
      name: field,
      'aria-invalid': message ? ('true' as const) : undefined,
      'aria-describedby': message ? `${formId}-${field}-error` : undefined,
    };
  };
  const fieldError = (field: FormField) =>
    errors.fields[field] ? (
      <p class="field-error" id={`${formId}-${field}-error`}>
        {errors.fields[field]}
      </p>
    ) : null;

  return (
    <Dialog
      open
      title={original ? `Edit ${original.sku}` : 'New product'}
      onClose={onClose}
      class="product-dialog"
      footer={
        <>
          <button type="button" class="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="button button-primary" form={formId} disabled={busy}>
            {busy ? 'Saving…' : original ? 'Save changes' : 'Create product'}
          </button>
        </>
      }
    >
      <form id={formId} class="form-grid" noValidate onSubmit={save}>
        {errors.general.length > 0 && (
          <div class="form-error" role="alert">
            {errors.general.map((message) => (
              <p key={message}>{message}</p>
            ))}
          </div>
        )}
        <div class="field">
          <label for={`${formId}-sku`}>SKU</label>
          <input
            {...fieldProps('sku')}
            type="text"
            required
            autoComplete="off"
            spellcheck={false}
            value={values.sku}
            onInput={(event) => set('sku', event.currentTarget.value)}
            autofocus
          />
          {fieldError('sku')}
        </div>
        <div class="field">
          <label for={`${formId}-name`}>Name</label>
          <input {...fieldProps('name')} type="text" required value={values.name} onInput={(event) => set('name', event.currentTarget.value)} />
          {fieldError('name')}
        </div>
        <div class="field">
          <label for={`${formId}-description`}>Description</label>
          <textarea {...fieldProps('description')} value={values.description} onInput={(event) => set('description', event.currentTarget.value)} />
          {fieldError('description')}
        </div>
        <div class="field">
          <label for={`${formId}-price`}>Price</label>
          <input
            {...fieldProps('price')}
            type="text"
            inputMode="decimal"
            placeholder="e.g. 19.99 (empty: unknown)"
            value={values.price}
            onInput={(event) => set('price', event.currentTarget.value)}
          />
          {fieldError('price')}
        </div>
        <div class="field field-inline">
          <input {...fieldProps('active')} type="checkbox" checked={values.active} onChange={(event) => set('active', event.currentTarget.checked)} />
          <label for={`${formId}-active`}>Active</label>
          {fieldError('active')}
        </div>
      </form>
    </Dialog>
  );
}
