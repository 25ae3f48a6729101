import os from 'node:os';
import path from 'node:path';
import { CsvReader } from '../src/imports/imports.csv.js';
import { readCsvText } from '../src/imports/imports.source.js';
import { generateCatalog } from './import.data.js';

// The CSV reader alone on the import benchmark's 500k-row file, streamed from disk as the
// import reads it (64 KiB chunks, TextDecoder): best of 3. `npm run bench:csv [rows]`.

const rows = Number(process.argv[2] ?? 500_000);
const { file, bytes } = await generateCatalog(path.join(os.tmpdir(), 'product-importer-bench', `catalog-${rows}.csv`), rows);
const times: number[] = [];
let records = 0;
for (let run = 0; run < 3; run++) {
  const started = process.hrtime.bigint();
  const reader = new CsvReader();
  records = 0;
  const onRecord = () => {
    records++;
  };
  for await (const chunk of readCsvText(file, { gzip: false, fromOffset: 0 })) reader.push(chunk.text, onRecord);
  reader.finish(onRecord);
  times.push(Number(process.hrtime.bigint() - started) / 1e9);
}
console.log(`${records} records, ${(bytes / 1024 ** 2).toFixed(1)} MiB: best ${Math.min(...times).toFixed(3)} s (runs: ${times.map((time) => time.toFixed(3)).join(', ')})`);
