// `npm run build` (and `npm start`, the tests' global setup): builds the web UI into web/dist with
// Vite when its sources changed since the last build, writes gzip and brotli copies of the assets
// (served precompressed), and prints the bundle size. Fails when the bundle is over its budget.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const projectDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const webDir = path.join(projectDir, 'web');
export const webDistDir = path.join(webDir, 'dist');
const stampFile = path.join(webDistDir, '.build-stamp');
/** Issue 9: the whole app, gzipped. */
const BUNDLE_BUDGET_BYTES = 150 * 1024;

/** Everything the build reads: sources, the page, the build config, and the installed packages. */
function inputs(): string[] {
  const files = [path.join(webDir, 'index.html'), path.join(webDir, 'vite.config.ts'), path.join(projectDir, 'package-lock.json')];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.push(full);
    }
  };
  walk(path.join(webDir, 'src'));
  return files;
}

export function webBuildIsStale(): boolean {
  if (!fs.existsSync(stampFile)) return true;
  const built = fs.statSync(stampFile).mtimeMs;
  return inputs().some((file) => fs.existsSync(file) && fs.statSync(file).mtimeMs > built);
}

export interface BundleSize {
  files: { name: string; bytes: number; gzipBytes: number }[];
  bytes: number;
  gzipBytes: number;
}

/** The built assets' sizes, raw and gzipped (what the budget is about). */
export function bundleSize(): BundleSize {
  const assetsDir = path.join(webDistDir, 'assets');
  const files = fs
    .readdirSync(assetsDir)
    .filter((name) => /\.(js|css)$/.test(name))
    .map((name) => {
      const content = fs.readFileSync(path.join(assetsDir, name));
      return { name, bytes: content.length, gzipBytes: zlib.gzipSync(content, { level: 9 }).length };
    });
  return {
    files,
    bytes: files.reduce((sum, file) => sum + file.bytes, 0),
    gzipBytes: files.reduce((sum, file) => sum + file.gzipBytes, 0),
  };
}

/** Precompressed copies next to each asset, so the server sends them without compressing per request. */
function writeCompressedCopies(): void {
  const assetsDir = path.join(webDistDir, 'assets');
  for (const name of fs.readdirSync(assetsDir)) {
    if (!/\.(js|css|svg|json)$/.test(name)) continue;
    const content = fs.readFileSync(path.join(assetsDir, name));
    fs.writeFileSync(path.join(assetsDir, `${name}.gz`), zlib.gzipSync(content, { level: 9 }));
    fs.writeFileSync(
      path.join(assetsDir, `${name}.br`),
      zlib.brotliCompressSync(content, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }),
    );
  }
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

export async function buildWeb(options: { force?: boolean; log?: (line: string) => void } = {}): Promise<void> {
  const log = options.log ?? ((line: string) => console.log(line));
  if (!options.force && !webBuildIsStale()) {
    log(`web UI up to date: ${kb(bundleSize().gzipBytes)} gzipped (npm run build:web rebuilds it)`);
    return;
  }
  const { build } = await import('vite');
  // Always the production build, also when called from the test runner (NODE_ENV=test would keep
  // Preact's development code in the bundle).
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ configFile: path.join(webDir, 'vite.config.ts'), mode: 'production', logLevel: 'warn' });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
  writeCompressedCopies();
  const size = bundleSize();
  for (const file of size.files) log(`  web/dist/assets/${file.name}  ${kb(file.bytes)}  (gzip ${kb(file.gzipBytes)})`);
  log(`web UI bundle: ${kb(size.bytes)}, ${kb(size.gzipBytes)} gzipped (budget ${kb(BUNDLE_BUDGET_BYTES)})`);
  if (size.gzipBytes > BUNDLE_BUDGET_BYTES) throw new Error(`The web UI bundle is ${kb(size.gzipBytes)} gzipped, over its budget of ${kb(BUNDLE_BUDGET_BYTES)}`);
  fs.writeFileSync(stampFile, new Date().toISOString());
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildWeb({ force: process.argv.includes('--force') }).catch((error: unknown) => {
    console.error(`web UI build failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
