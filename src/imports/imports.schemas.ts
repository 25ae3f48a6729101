import { Type, type Static } from 'typebox';

export const UploadQuery = Type.Object({
  filename: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      pattern: '^[^\\u0000-\\u001f\\u007f/\\\\]+$',
      description: 'Raw uploads: the file name to show for the job (default `upload.csv`). No slashes or control characters.',
    }),
  ),
});
export type UploadQuery = Static<typeof UploadQuery>;

/** What no file name may contain, in ?filename= (the pattern above) or a multipart part. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/** Media types of a raw (not multipart) upload body. */
export const RAW_UPLOAD_TYPES = ['text/csv', 'application/csv', 'application/gzip', 'application/x-gzip'];
