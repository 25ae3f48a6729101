import { Type } from 'typebox';

// Response shapes shared by every feature's routes.

export const ErrorResponse = Type.Object(
  { detail: Type.String({ description: 'What went wrong, for people.' }) },
  { $id: 'ErrorResponse', description: 'An error.' },
);

export const ValidationErrorResponse = Type.Object(
  {
    detail: Type.Array(
      Type.Object({
        loc: Type.Array(Type.Union([Type.String(), Type.Integer()]), {
          description: 'Where: "body", "query" or "path", then the field.',
        }),
        msg: Type.String(),
        type: Type.String({ description: 'The kind of problem, e.g. "missing", "string_too_long".' }),
      }),
    ),
  },
  { $id: 'ValidationErrorResponse', description: 'The request did not validate: one entry per problem.' },
);

/** Error responses every /api route may give, to spread into a route's `response`. */
export const commonErrorResponses = {
  401: Type.Ref('ErrorResponse'),
  422: Type.Ref('ValidationErrorResponse'),
};

/** The 404 of a route that reads one resource by id, to spread into its `response`. */
export const notFoundResponse = { 404: Type.Ref('ErrorResponse') };

export const IdParams = Type.Object({
  id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'Numeric id.' }),
});
