// The API's shapes, taken from the server's TypeBox schemas (the single source of truth) with
// type-only imports: the compiler reads them, the bundle never contains them.
import type { Static } from 'typebox';
import type * as BulkDeleteSchemas from '../../../src/bulk-delete/bulk-delete.schemas';
import type * as JobSchemas from '../../../src/jobs/jobs.schemas';
import type * as ProductSchemas from '../../../src/products/products.schemas';
import type * as HttpSchemas from '../../../src/shared/http.schemas';
import type * as WebhookSchemas from '../../../src/webhooks/webhooks.schemas';

export type Job = Static<typeof JobSchemas.Job>;
export type JobAccepted = Static<typeof JobSchemas.JobAccepted>;
export type JobStatus = Job['status'];
export type JobListQuery = Static<typeof JobSchemas.JobListQuery>;
export type JobError = Static<typeof JobSchemas.JobError>;
/** An event of GET /api/progress/{id}: the job plus a sentence for people. */
export type JobProgressEvent = Job & { message?: string };

export type Product = Static<typeof ProductSchemas.Product>;
export type ProductCreate = Static<typeof ProductSchemas.ProductCreate>;
export type ProductUpdate = Static<typeof ProductSchemas.ProductUpdate>;
export type ProductListQuery = Static<typeof ProductSchemas.ProductListQuery>;
export type ProductExportQuery = Static<typeof ProductSchemas.ProductExportQuery>;
/** `items` is a `$ref` in the schema, which Static cannot follow. */
export type ProductPage = Omit<Static<typeof ProductSchemas.ProductPage>, 'items'> & { items: Product[] };
export type DeleteSelectedBody = Static<typeof ProductSchemas.DeleteSelectedBody>;
export type DeleteSelectedResponse = Static<typeof ProductSchemas.DeleteSelectedResponse>;
export type BulkDeleteBody = Static<typeof BulkDeleteSchemas.BulkDeleteBody>;

export type Webhook = Static<typeof WebhookSchemas.Webhook>;
export type WebhookDelivery = Static<typeof WebhookSchemas.WebhookDelivery>;
export type WebhookCreate = Static<typeof WebhookSchemas.WebhookCreate>;
export type WebhookUpdate = Static<typeof WebhookSchemas.WebhookUpdate>;
export type WebhookTestBody = Static<typeof WebhookSchemas.WebhookTestBody>;
export type WebhookTestResult = Static<typeof WebhookSchemas.WebhookTestResult>;
export type WebhookSecret = Static<typeof WebhookSchemas.WebhookSecret>;
export type DeliveryListQuery = Static<typeof WebhookSchemas.DeliveryListQuery>;

export type ErrorResponse = Static<typeof HttpSchemas.ErrorResponse>;
export type ValidationErrorResponse = Static<typeof HttpSchemas.ValidationErrorResponse>;
export type ValidationIssue = ValidationErrorResponse['detail'][number];

/** GET /api/session (contract 2, built on branch hard-auth). */
export interface SessionState {
  auth_required: boolean;
  authenticated: boolean;
}
