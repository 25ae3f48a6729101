import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

export interface CatalogFile {
  file: string;
  content: Buffer;
  rows: number;
  /** Rows the import rejects (a price that is not a number). */
  invalid: number;
}

/**
 * A catalog CSV of `rows` data rows with distinct SKUs; every `invalidEvery`-th row has a bad
 * price. Written to a temporary file (gzipped when the name ends in .gz).
 */
export function writeCatalog(name: string, rows: number, invalidEvery = 0): CatalogFile {
  const lines = ['sku,name,description,price,active'];
  let invalid = 0;
  for (let index = 1; index <= rows; index += 1) {
    const bad = invalidEvery > 0 && index % invalidEvery === 0;
    if (bad) invalid += 1;
    const price = bad ? 'twelve' : `${(index % 500) + 1}.${String(index % 100).padStart(2, '0')}`;
    lines.push(`SKU-${String(index).padStart(7, '0')},Product ${index},"Description of product ${index}, plain",${price},${index % 7 === 0 ? 'false' : 'true'}`);
  }
  const text = Buffer.from(`${lines.join('\n')}\n`);
  const content = name.endsWith('.gz') ? zlib.gzipSync(text) : text;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'product-importer-csv-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return { file, content, rows, invalid };
}
