import { Type, type TString, type TStringOptions } from 'typebox';

// Every string a client sends goes through Text(): besides its own rules it refuses NUL, which
// PostgreSQL cannot store in text (a 500 there, stored as is on SQLite), and unpaired UTF-16
// surrogates (a JSON "\ud800" escape), which are not Unicode text and which both drivers would
// silently store as U+FFFD. So both databases answer the same 422 naming the field. The rule is a
// `not` beside the field's own pattern, so the OpenAPI document shows it; a test walks the
// document and fails for any request string that lacks it.

/** With Ajv's unicode flag a surrogate range matches only a half without its pair. */
export const NOT_TEXT_PATTERN = '[\\u0000\\uD800-\\uDFFF]';
export const NOT_TEXT_MESSAGE = 'must not contain NUL (U+0000) or an unpaired UTF-16 surrogate';

/** A string a client sends: `Type.String(options)` that refuses NUL and unpaired surrogates. */
export function Text(options: TStringOptions = {}): TString {
  return Type.String({ ...options, not: { pattern: NOT_TEXT_PATTERN, description: NOT_TEXT_MESSAGE } });
}
