import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';

// A seeded generator of catalog files shaped like real exports (header as in
// ../shared/fixtures/sample-products.csv plus price and active): about 20% of rows repeat an
// earlier SKU (half of those in another case), and a quarter of descriptions are multi-line
// and quoted. The same seed always gives the same bytes, so runs compare like with like.

/** mulberry32: small, fast, good enough for test data. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = ['ka', 'lo', 'mi', 'ren', 'tu', 'sa', 'vel', 'or', 'ni', 'pe', 'da', 'quo', 'st', 'ar', 'en', 'im', 'ber', 'cho', 'ga', 'xi'];
const FIRST_NAMES = ['Bryce', 'John', 'Theresa', 'Roger', 'Tiffany', 'Roy', 'David', 'Anthony', 'Lauren', 'Bailey', 'Zoë', 'José'];
const LAST_NAMES = ['Jones', 'Robinson', 'Taylor', 'Huerta', 'Buckley', 'Johnson', 'Golden', 'Wright', 'Burch', 'Smith', 'Cox', 'Müller'];

function vocabulary(random: () => number, size: number): string[] {
  const words = new Set<string>();
  while (words.size < size) {
    const count = 1 + Math.floor(random() * 3);
    let word = '';
    for (let i = 0; i < count; i++) word += SYLLABLES[Math.floor(random() * SYLLABLES.length)];
    words.add(word);
  }
  return [...words];
}

export interface CatalogFile {
  file: string;
  rows: number;
  bytes: number;
  /** The SKU of the file's last row: once a search finds it, the whole file is findable. */
  lastSku: string;
}

/** Writes `rows` data rows to `file` (reused when it already exists with the same name). */
export async function generateCatalog(file: string, rows: number, seed = 42): Promise<CatalogFile> {
  const lastSkuFile = `${file}.last-sku`;
  if (fs.existsSync(file) && fs.existsSync(lastSkuFile)) {
    return { file, rows, bytes: fs.statSync(file).size, lastSku: fs.readFileSync(lastSkuFile, 'utf8') };
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const random = seededRandom(seed);
  const words = vocabulary(random, 2000);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const sentence = () => {
    const length = 4 + Math.floor(random() * 7);
    const parts: string[] = [];
    for (let i = 0; i < length; i++) parts.push(pick(words));
    const text = parts.join(' ');
    return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
  };
  const skus: string[] = [];
  const temporary = `${file}.partial`;
  const out = fs.createWriteStream(temporary);
  let chunk = 'name,sku,description,price,active\n';
  let sku = '';
  for (let i = 0; i < rows; i++) {
    if (skus.length > 0 && random() < 0.2) {
      const earlier = pick(skus);
      sku = random() < 0.5 ? earlier.toUpperCase() : earlier;
    } else {
      sku = `${pick(words)}-${pick(words)}-${i.toString(36)}`;
      skus.push(sku);
    }
    const sentences = 1 + Math.floor(random() * 3);
    let description: string;
    if (random() < 0.25) {
      const lines: string[] = [];
      for (let s = 0; s < sentences + 1; s++) lines.push(sentence());
      description = `"${lines.join('\n').replace(/"/g, '""')}"`;
    } else {
      const parts: string[] = [];
      for (let s = 0; s < sentences; s++) parts.push(sentence());
      description = parts.join(' ');
    }
    const price = random() < 0.1 ? '' : `${Math.floor(random() * 100000)}.${String(Math.floor(random() * 100)).padStart(2, '0')}`;
    const active = random() < 0.9 ? 'true' : 'false';
    chunk += `${pick(FIRST_NAMES)} ${pick(LAST_NAMES)},${sku},${description},${price},${active}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  fs.renameSync(temporary, file);
  fs.writeFileSync(lastSkuFile, sku);
  return { file, rows, bytes: fs.statSync(file).size, lastSku: sku };
}
