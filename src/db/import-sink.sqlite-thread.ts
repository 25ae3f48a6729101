// The module a SQLite import's writer thread runs (started by import-sink.sqlite.ts).
import { serveImportWriter } from './import-sink.sqlite-writer.js';

serveImportWriter();
