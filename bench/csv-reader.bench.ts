import os from 'node:os';
import path from 'node:path';
import { CsvReader } from '../src/imports/imports.csv.js';
import { readCsvText } from '../src/imports/imports.source.js';
import { generateCatalog } from './import.data.js';

// The CSV reader alone on the import benchmark's 500k-row file, streamed from disk as the
// import reads it (64 KiB chunks, TextDecoder): best of 3 (or of [runs]). `npm run bench:csv [rows] [runs]`.

const rows = Number(process.argv[2] ?? 500_000);
const { file, bytes } = await generateCatalog(path.join(os.tmpdir(), 'product-importer-bench', `catalog-${rows}.csv`), rows);
const times: number[] = [];
/** CPU seconds of the process per run: steadier than wall time on a shared machine. */
const cpuTimes: number[] = [];
let records = 0;
const runs = Number(process.argv[3] ?? 3);
for (let run = 0; run < runs; run++) {
  const started = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  const reader = new CsvReader();
  records = 0;
  const onRecord = () => {
    records++;
  };
  for await (const chunk of readCsvText(file, { gzip: false, fromOffset: 0 })) reader.push(chunk.text, onRecord);
  reader.finish(onRecord);
  times.push(Number(process.hrtime.bigint() - started) / 1e9);
  const cpu = process.cpuUsage(cpuBefore);
  cpuTimes.push((cpu.user + cpu.system) / 1e6);
}
const list = (values: number[]) => values.map((value) => value.toFixed(3)).join(', ');
console.log(
  `${records} records, ${(bytes / 1024 ** 2).toFixed(1)} MiB: best ${Math.min(...times).toFixed(3)} s wall (${list(times)}), ` +
    `best ${Math.min(...cpuTimes).toFixed(3)} s CPU (${list(cpuTimes)})`,
);
