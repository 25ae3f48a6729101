import { Type, type Static } from 'typebox';
import { Text } from '../shared/text.schemas.js';

export const UploadQuery = Type.Object({
  filename: Type.Optional(
    Text({
      minLength: 1,
      maxLength: 255,
      pattern: '^[^\\u0000-\\u001f/\\\\]+$',
      description: 'Raw uploads: the file name to show for the job (default `upload.csv`). No slashes or control characters.',
    }),
  ),
});
export type UploadQuery = Static<typeof UploadQuery>;

/** Media types of a raw (not multipart) upload body. */
export const RAW_UPLOAD_TYPES = ['text/csv', 'application/csv', 'application/gzip', 'application/x-gzip'];
