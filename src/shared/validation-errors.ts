import type { ErrorObject } from 'ajv';
import type { ValidationIssue } from './http-errors.js';

/** Fastify's name for each request part -> the `loc` root of API.md. */
const LOCATION: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

const TYPE_BY_KEYWORD: Record<string, string> = {
  required: 'missing',
  additionalProperties: 'extra_forbidden',
  type: 'type_error',
  maxLength: 'string_too_long',
  minLength: 'string_too_short',
  pattern: 'string_pattern_mismatch',
  minimum: 'less_than_minimum',
  maximum: 'greater_than_maximum',
  exclusiveMinimum: 'less_than_minimum',
  exclusiveMaximum: 'greater_than_maximum',
  minItems: 'too_short',
  maxItems: 'too_long',
  enum: 'enum',
  anyOf: 'value_error',
  format: 'format_error',
  not: 'string_not_text',
};

function pathOf(error: ErrorObject): string[] {
  const parts = error.instancePath.split('/').slice(1).map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'));
  if (error.keyword === 'required') parts.push(String(error.params.missingProperty));
  if (error.keyword === 'additionalProperties') parts.push(String(error.params.additionalProperty));
  return parts;
}

function messageOf(error: ErrorObject): string {
  const description = (error.parentSchema as { description?: string } | undefined)?.description;
  switch (error.keyword) {
    case 'required':
      return 'Field required';
    case 'additionalProperties':
      return 'Unknown field';
    case 'enum':
      return `must be one of: ${(error.params.allowedValues as unknown[]).join(', ')}`;
    case 'not':
      // The only `not` in our schemas is Text()'s; its schema says what it refuses.
      return (error.schema as { description?: string } | undefined)?.description ?? 'invalid value';
    case 'pattern':
    case 'anyOf':
      return description ? `invalid value: ${description}` : (error.message ?? 'invalid value');
    default:
      return error.message ?? 'invalid value';
  }
}

/**
 * Ajv errors (with allErrors and verbose) -> one issue per problem. The branch errors
 * of a union are folded into the union's own error, described by its schema, except
 * a NUL or unpaired surrogate (Text's `not`), which is named as such whatever the union.
 */
export function toValidationIssues(errors: ErrorObject[], context: string): ValidationIssue[] {
  const notTextPaths = new Set(errors.filter((error) => error.keyword === 'not').map((error) => error.instancePath));
  const unionPaths = errors.filter((error) => error.keyword === 'anyOf').map((error) => error.instancePath);
  const kept = errors.filter((error) =>
    error.keyword === 'anyOf'
      ? !notTextPaths.has(error.instancePath)
      : error.keyword === 'not' || !unionPaths.some((path) => error.instancePath === path || error.instancePath.startsWith(`${path}/`)),
  );
  const root = LOCATION[context] ?? context;
  const seen = new Set<string>();
  const issues: ValidationIssue[] = [];
  for (const error of kept) {
    const issue = { loc: [root, ...pathOf(error)], msg: messageOf(error), type: TYPE_BY_KEYWORD[error.keyword] ?? error.keyword };
    const key = `${issue.loc.join('\u0000')}|${issue.type}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
  }
  return issues;
}
