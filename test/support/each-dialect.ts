import { postgresSkipReason } from './services.js';
import { describeEach, type SuiteCase } from './suites.js';
import type { Dialect } from './test-app.js';

// One suite per database: SQLite always, PostgreSQL when it answers. Without PostgreSQL its
// suites are still declared, as skipped (the runner counts them, the reason is in the name
// and printed); with CI=true a missing server fails the run instead (services.ts).

const postgresSkipped = await postgresSkipReason();

const DIALECT_CASES: SuiteCase<Dialect>[] = [
  { name: 'sqlite', value: 'sqlite', skipped: null },
  { name: 'postgres', value: 'postgres', skipped: postgresSkipped },
];

/** `describe(title, body)` on SQLite and on PostgreSQL (`%s` in the title is the dialect). */
export function describeEachDialect(title: string, body: (dialect: Dialect) => void): void {
  describeEach(title, DIALECT_CASES, body);
}
