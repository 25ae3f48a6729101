import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

// --- Who may import whom under src/ (docs/architecture.md, "Who may import whom", draws it) ---
// Each folder lists what it may import besides its own files and config.ts; the rest of src/ is
// refused, including the composition root (app.ts, runtime.ts, server.ts, worker.ts, migrate.ts,
// reindex.ts), which imports everything and is imported by nothing.

/** The layers every feature builds on, lowest first; each knows only those below it, and no feature. */
const SHARED_LAYERS = {
  shared: [],
  db: ['shared'],
  outbox: ['db', 'shared'],
  jobs: ['outbox', 'db', 'shared'],
  // The mode (embedded or scaled) opens the queue, the progress bus and the outbox wake-up for the composition root.
  mode: ['jobs', 'outbox', 'db', 'shared'],
};
/** Features may use every shared layer, and not each other. */
const FEATURES = ['products', 'imports', 'bulk-delete', 'webhooks', 'search', 'session', 'web-ui', 'operations'];
/** The one edge between features: an import applies the catalog's row rules exactly as the products API does. */
const FEATURE_EDGES = { imports: ['products/products.rules.ts'] };
const DATABASE_MESSAGE = 'Only src/db/ knows which database it runs on (its modules are named *.sqlite.ts / *.postgres.ts).';

/** The zones of import-x/no-restricted-paths. */
function importZones() {
  const zone = (folder, mayImport) => ({
    target: `src/${folder}`,
    from: 'src',
    except: [folder, ...mayImport, 'config.ts'].map((path) => `./${path}`),
    message: `src/${folder}/ may import only ${[...mayImport, 'config.ts'].join(', ')} (docs/architecture.md, "Who may import whom").`,
  });
  return [
    ...Object.entries(SHARED_LAYERS).map(([folder, below]) => zone(folder, below)),
    ...FEATURES.map((feature) => zone(feature, ['jobs', ...SHARED_LAYERS.jobs, ...(FEATURE_EDGES[feature] ?? [])])),
    {
      target: 'src/db/migrations',
      from: 'src',
      except: ['./db/migrations'],
      message: 'A migration never imports app code: it must not change when the app does.',
    },
    { target: ['src/*.ts', 'src/!(db)/**'], from: ['src/**/*.sqlite.ts', 'src/**/*.postgres.ts'], message: DATABASE_MESSAGE },
  ];
}

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', 'dist/**', 'coverage/**', 'web/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': ['error', { ignoreRestArgs: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Import cycles fail the lint, in the server and in the web UI. import-x reads the files an import
  // leads to (no-cycle follows them); the TypeScript resolver maps './x.js' to x.ts with each tsconfig's
  // module resolution (imports by type only are no cycle: they are gone at run time).
  ...[
    { files: ['src/**/*.ts'], project: 'tsconfig.json' },
    { files: ['web/src/**/*.{ts,tsx}'], project: 'web/tsconfig.json' },
  ].map(({ files, project }) => ({
    files,
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.tsx', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project })],
      // Packages cannot import our code back: never parse them (their .d.ts files are most of the work).
      'import-x/ignore': ['node_modules'],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  })),
  {
    files: ['src/**/*.ts'],
    rules: { 'import-x/no-restricted-paths': ['error', { zones: importZones() }] },
  },
  {
    // Nothing above src/db/ talks to a database driver or asks which adapter Kysely has.
    files: ['src/**/*.ts'],
    ignores: ['src/db/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...['pg', 'pg-copy-streams', 'pg-cursor', 'better-sqlite3'].map((name) => ({ name, message: DATABASE_MESSAGE })),
            { name: 'kysely', importNames: ['PostgresAdapter', 'SqliteAdapter', 'PostgresDialect', 'SqliteDialect'], message: DATABASE_MESSAGE },
          ],
        },
      ],
    },
  },
  // Edges being removed by issue 8's job-kind/dialect/mode change — delete when they're gone (the lists above).
  {
    // Migrations are written against Kysely<any> on purpose: they must not depend on today's types.
    files: ['src/db/migrations/**', 'src/db/sql-fragments.ts', 'src/db/migrator.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The web UI runs in the browser: its globals come from the DOM types (web/tsconfig.json); Node's
    // are refused here, and the server's code may only be imported for its types.
    files: ['web/src/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-globals': ['error', 'process', 'Buffer', 'require', '__dirname', '__filename', 'global'],
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*'], message: 'The web UI runs in the browser.' }] }],
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', disallowTypeAnnotations: false }],
    },
  },
  {
    files: ['web/src/api/types.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ group: ['**/src/**'], allowTypeImports: true, message: 'Only types of the server may reach the bundle.' }] }],
    },
  },
);
