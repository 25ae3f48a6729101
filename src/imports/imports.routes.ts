import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { HttpError, RequestValidationError } from '../shared/http-errors.js';
import { commonErrorResponses } from '../shared/http.schemas.js';
import { CONTROL_CHARACTERS, RAW_UPLOAD_TYPES, UploadQuery } from './imports.schemas.js';
import type { ImportsService } from './imports.service.js';

const tags = ['imports'];
const error = Type.Ref('ErrorResponse');

function baseName(filename: string): string {
  const name = filename.split(/[\\/]/).pop()?.trim() ?? '';
  return name.slice(0, 255) || 'upload.csv';
}

/** A multipart body the parser cannot make sense of (no or wrong boundary, cut off) is a 400. */
function asMalformedMultipart(error: unknown): never {
  if (error instanceof HttpError || typeof (error as { statusCode?: unknown }).statusCode === 'number') throw error;
  throw new HttpError(400, `Malformed multipart body: ${error instanceof Error ? error.message : String(error)}`);
}

/**
 * POST /api/upload. Its own scope: the multipart parser and the raw CSV/gzip parsers
 * (which hand the body over as a stream, unread) apply here only, so every other route
 * keeps Fastify's 1 MiB JSON body limit.
 */
export const importsRoutes: FastifyPluginAsyncTypebox<{ imports: ImportsService; maxUploadBytes: number }> = async (
  app,
  { imports, maxUploadBytes },
) => {
  await app.register(multipart, { limits: { fileSize: maxUploadBytes + 1, files: 1, fields: 10, parts: 20, fieldSize: 1024 } });
  app.addContentTypeParser(RAW_UPLOAD_TYPES, (_request, _payload, done) => done(null));

  app.post(
    '/api/upload',
    {
      schema: {
        tags,
        summary: 'Upload a CSV file (.csv or .csv.gz) and start importing it',
        description: [
          'Either `multipart/form-data` with the file in the field `file`, or the file as the raw body with `Content-Type: text/csv` (or `application/gzip` for .csv.gz) and its name in `?filename=`.',
          'The file is streamed to disk (never held in memory), its SHA-256 recorded; gzip is recognised by its content.',
          `Over MAX_UPLOAD_BYTES: 413 and nothing is kept. A malformed multipart body (no or wrong boundary) or a body cut off before its end: 400, nothing kept. A multipart file name with control characters: 422; only the first file part is read. The header row is checked before answering: an empty file, no header, binary data or a missing \`sku\` or \`name\` column gives 400 with a message naming the problem.`,
          'Otherwise 202 with the queued job; follow it at `/api/progress/{id}`.',
        ].join(' '),
        consumes: ['multipart/form-data', ...RAW_UPLOAD_TYPES],
        querystring: UploadQuery,
        response: { 202: Type.Ref('JobAccepted'), 400: error, 413: error, 415: error, ...commonErrorResponses },
      },
    },
    async (request, reply) => {
      const declared = request.headers['content-length'];
      if (declared !== undefined && Number(declared) > maxUploadBytes * 1.01 + 64 * 1024) {
        // Clearly over the limit (multipart framing aside): refuse before reading any of it.
        throw new HttpError(413, `The upload is larger than the limit of ${maxUploadBytes} bytes (MAX_UPLOAD_BYTES).`, { connection: 'close' });
      }
      let accepted;
      if (request.isMultipart()) {
        const part = await request.file().catch(asMalformedMultipart);
        if (!part || part.fieldname !== 'file') {
          throw new RequestValidationError([{ loc: ['body', 'file'], msg: 'send the CSV file in the multipart field "file"', type: 'missing' }]);
        }
        if (CONTROL_CHARACTERS.test(part.filename)) {
          throw new RequestValidationError([{ loc: ['body', 'file', 'filename'], msg: 'the file name must not contain control characters', type: 'string_pattern_mismatch' }]);
        }
        accepted = await imports.upload({ stream: part.file, filename: baseName(part.filename) });
      } else {
        const mediaType = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
        if (!RAW_UPLOAD_TYPES.includes(mediaType)) {
          throw new HttpError(415, `Unsupported media type "${mediaType}": send multipart/form-data, text/csv or application/gzip.`);
        }
        const fallback = mediaType.includes('gzip') ? 'upload.csv.gz' : 'upload.csv';
        accepted = await imports.upload({ stream: request.raw, filename: baseName(request.query.filename ?? fallback) });
      }
      return reply.code(202).send(accepted);
    },
  );
};
