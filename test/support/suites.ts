import { describe } from 'vitest';

// Suites run once per back-end (a database dialect, a queue, a bus). A back-end this run cannot
// reach is still declared, as a skipped suite with the reason in its name, so the runner reports
// it; services.ts prints the reason and, with CI=true, fails the run instead.

/** A case of a suite run once per back-end: `skipped` says why it cannot run here (null: it runs). */
export interface SuiteCase<T> {
  name: string;
  value: T;
  skipped: string | null;
}

/** `describe` once per case, `%s` or `$name` in the title standing for the case's name; unavailable cases are skipped with their reason. */
export function describeEach<T>(title: string, cases: SuiteCase<T>[], body: (value: T) => void): void {
  for (const { name, value, skipped } of cases) {
    const named = title.replace('%s', name).replace('$name', name);
    if (skipped === null) describe(named, () => body(value));
    else describe.skip(`${named} [skipped: ${skipped}]`, () => body(value));
  }
}
