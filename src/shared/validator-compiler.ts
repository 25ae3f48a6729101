import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance, FastifySchema } from 'fastify';

/**
 * Bodies are JSON and must have the declared types as sent ("12" is not a number);
 * query strings and path parameters are text and are coerced to the declared types.
 */
export function installValidatorCompiler(app: FastifyInstance): void {
  const common: Options = { allErrors: true, verbose: true, strict: false, useDefaults: true, removeAdditional: false };
  const bodyAjv = addFormats.default(new Ajv({ ...common, coerceTypes: false }));
  const textAjv = addFormats.default(new Ajv({ ...common, coerceTypes: 'array' }));

  app.setValidatorCompiler(({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? bodyAjv : textAjv;
    for (const shared of Object.values(app.getSchemas()) as FastifySchema[]) {
      const id = (shared as { $id?: string }).$id;
      if (id && !ajv.getSchema(id)) ajv.addSchema(shared as object);
    }
    return ajv.compile(schema as object);
  });
}
