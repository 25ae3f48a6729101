import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvReader, MAX_RECORD_CHARS, type CsvRecord } from '../../src/imports/imports.csv.js';

interface Read {
  fields: string[];
  line: number;
  malformed: string | null;
  endOffset: number;
  endLine: number;
  raw: string;
}

/** Feeds `chunks` to a reader and collects every record with its end position. */
function readAll(chunks: string[], startByte = 0, startLine = 1): Read[] {
  const reader = new CsvReader(startByte, startLine);
  const out: Read[] = [];
  const onRecord = (record: { fields: string[]; line: number; malformed: string | null }) =>
    out.push({ ...record, endOffset: reader.endOffset(), endLine: reader.endLine(), raw: reader.lastRecordText(1000) });
  for (const chunk of chunks) reader.push(chunk, onRecord);
  reader.finish(onRecord);
  return out;
}

/**
 * The characters String.prototype.indexOf looks at while `work` runs: a measure of the reader's
 * work that does not depend on the machine. Throws once over `limit` (a quadratic reader would
 * otherwise run for many seconds).
 */
function countScannedCharacters(limit: number, work: () => void): number {
  const indexOf = String.prototype.indexOf;
  let scanned = 0;
  String.prototype.indexOf = function (this: string, search: string, from = 0) {
    const found = indexOf.call(this, search, from);
    scanned += (found === -1 ? this.length : found + search.length) - Math.max(0, from);
    if (scanned > limit) throw new Error(`more than ${limit} characters scanned`);
    return found;
  };
  try {
    work();
  } finally {
    String.prototype.indexOf = indexOf;
  }
  return scanned;
}

/** The text cut into pieces at the given positions. */
function split(text: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b);
  const pieces: string[] = [];
  let from = 0;
  for (const point of points) {
    pieces.push(text.slice(from, point));
    from = point;
  }
  pieces.push(text.slice(from));
  return pieces;
}

/** A plain character-at-a-time RFC 4180 reader: the reference the fast reader must agree with. */
function referenceRead(text: string): Array<{ fields: string[]; line: number; end: number }> {
  const records: Array<{ fields: string[]; line: number; end: number }> = [];
  let i = 0;
  let line = 1;
  while (i < text.length) {
    const start = i;
    const startLine = line;
    const fields: string[] = [];
    let field = '';
    let quoted = false;
    let atFieldStart = true;
    for (;;) {
      if (i >= text.length) {
        fields.push(field);
        break;
      }
      const char = text[i] as string;
      if (quoted) {
        if (char === '"' && text[i + 1] === '"') {
          field += '"';
          i += 2;
        } else if (char === '"') {
          quoted = false;
          i++;
        } else {
          if (char === '\n') line++;
          field += char;
          i++;
        }
      } else if (char === '"' && atFieldStart) {
        quoted = true;
        atFieldStart = false;
        i++;
      } else if (char === ',') {
        fields.push(field);
        field = '';
        atFieldStart = true;
        i++;
      } else if (char === '\n' || (char === '\r' && text[i + 1] === '\n')) {
        fields.push(field);
        i += char === '\r' ? 2 : 1;
        line++;
        break;
      } else {
        field += char;
        atFieldStart = false;
        i++;
      }
    }
    const blankLine = ['', '\n', '\r\n'].includes(text.slice(start, i));
    if (!blankLine) records.push({ fields, line: startLine, end: i });
  }
  return records;
}

const cell = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', 'B', ' ', 'é', '😀', '-', '.', '1') }),
  fc
    .string({ unit: fc.constantFrom('a', ',', '"', '\n', '\r\n', 'ü', ' ') })
    .map((text) => `"${text.replace(/"/g, '""')}"`),
  // Broken quoting: a quote inside an unquoted field, text after a closing quote.
  fc.string({ unit: fc.constantFrom('a', '"', ' ') }).map((text) => `b${text}`),
  fc.tuple(fc.string({ unit: fc.constantFrom('a', '\n') }), fc.string({ unit: fc.constantFrom('x', '"', ' ') })).map(([inside, after]) => `"${inside}"${after}`),
);
const csvText = fc
  .array(fc.array(cell, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 12 })
  .chain((rows) =>
    fc.tuple(fc.constant(rows), fc.constantFrom('\n', '\r\n'), fc.boolean(), fc.boolean()).map(([cells, eol, trailing, unterminated]) => {
      const body = cells.map((row) => row.join(',')).join(eol);
      // An unterminated quoted field runs to the end of the input.
      return (trailing ? body + eol : body) + (unterminated ? `${eol}x,"open${eol}field` : '');
    }),
  );

describe('CsvReader', () => {
  it('reads quoted commas, doubled quotes, quoted newlines, CRLF and unicode', () => {
    const text = 'sku,name\r\nA-1,"Hello, ""world"""\r\n"B\n2","line one\r\nline two"\nécole-1,😀\n';
    expect(readAll([text]).map(({ fields, line }) => ({ fields, line }))).toEqual([
      { fields: ['sku', 'name'], line: 1 },
      { fields: ['A-1', 'Hello, "world"'], line: 2 },
      { fields: ['B\n2', 'line one\r\nline two'], line: 3 },
      { fields: ['école-1', '😀'], line: 6 },
    ]);
  });

  it('skips blank lines but counts them, and reads a last line without a newline', () => {
    const records = readAll(['a,b\n\n\r\nc,d\n\ne,f']);
    expect(records.map(({ fields, line }) => ({ fields, line }))).toEqual([
      { fields: ['a', 'b'], line: 1 },
      { fields: ['c', 'd'], line: 4 },
      { fields: ['e', 'f'], line: 6 },
    ]);
  });

  it('gives the byte offset just past each record, counting multi-byte characters', () => {
    const text = 'é,"ü\n"\n😀,x\r\nlast';
    const records = readAll([text], 3, 2);
    const bytes = (chars: number) => 3 + Buffer.byteLength(text.slice(0, chars));
    expect(records.map((record) => record.endOffset)).toEqual([bytes(7), bytes(13), bytes(17)]);
    expect(records.map((record) => record.line)).toEqual([2, 4, 5]);
    expect(records.at(-1)?.endLine).toBe(5);
  });

  it('flags broken quoting instead of guessing silently', () => {
    const records = readAll(['a,"b"c,d\n"open,e\nf\n']);
    expect(records[0]).toMatchObject({ fields: ['a', 'bc', 'd'], malformed: 'unexpected text after a closing quote' });
    expect(records[1]).toMatchObject({ fields: ['open,e\nf\n'], malformed: 'unterminated quoted field', line: 2 });
  });

  it('keeps the raw text of the last record for error reports', () => {
    const records = readAll(['x,"y\r\nz"\r\nnext,row\r\n']);
    expect(records.map((record) => record.raw)).toEqual(['x,"y\r\nz"', 'next,row']);
  });

  it('skips a record over the size limit as one malformed row, keeping none of its text, and reads on', () => {
    const long = `x,"${'y'.repeat(1000)}\n""${'z'.repeat(1000)}"`;
    const text = `a,b\n${long}\nc,d\n`;
    const chunks = text.match(/[\s\S]{1,10}/g) ?? [];
    const reader = new CsvReader(0, 1, 100);
    const records: Array<{ fields: string[]; line: number; malformed: string | null; raw: string; endOffset: number }> = [];
    const onRecord = (record: CsvRecord) => records.push({ ...record, raw: reader.lastRecordText(50), endOffset: reader.endOffset() });
    for (const chunk of chunks) reader.push(chunk, onRecord);
    reader.finish(onRecord);
    expect(records).toEqual([
      { fields: ['a', 'b'], line: 1, malformed: null, raw: 'a,b', endOffset: 4 },
      { fields: ['x'], line: 2, malformed: 'the record is longer than 100 characters (the limit); it was skipped', raw: long.slice(0, 50), endOffset: 4 + long.length + 1 },
      { fields: ['c', 'd'], line: 4, malformed: null, raw: 'c,d', endOffset: text.length },
    ]);
  });

  it('reports an unterminated quote longer than the limit at the end of the file as one malformed row', () => {
    const records = readAll(['sku,name\nA-1,"never closed', 'x'.repeat(MAX_RECORD_CHARS), '\nmore,lines\n']);
    expect(records).toHaveLength(2);
    expect(records[1]).toMatchObject({ fields: ['A-1'], line: 2, malformed: expect.stringContaining('longer than') });
  });

  it('reads each character a bounded number of times however records fall across chunks (no re-scan)', () => {
    const doubledQuotes = `sku,name,description\nA-1,x,"${'""\n'.repeat(300_000)}"\nB-2,y,z\n`; // ~880 KiB, one field
    const headerOfQuotes = `"${'""'.repeat(320_000)}"\n`; // a 640 KB header
    const manyFields = `${'a,'.repeat(200_000)}b\n`;
    for (const text of [doubledQuotes, headerOfQuotes, manyFields]) {
      const scanned = countScannedCharacters(text.length * 4, () => {
        const reader = new CsvReader();
        for (let from = 0; from < text.length; from += 65_536) reader.push(text.slice(from, from + 65_536), () => undefined);
        reader.finish(() => undefined);
      });
      expect(scanned / text.length).toBeLessThan(4);
    }
    const records = readAll([doubledQuotes]);
    expect(records.map((record) => record.fields[0])).toEqual(['sku', 'A-1', 'B-2']);
    expect(records[1]?.fields[2]).toBe('"\n'.repeat(300_000));
    expect(records[2]?.line).toBe(300_003);
  });

  it('agrees with a reference reader however the text is cut into chunks', () => {
    fc.assert(
      fc.property(csvText, fc.array(fc.nat(), { maxLength: 8 }), (text, cuts) => {
        const expected = referenceRead(text);
        const actual = readAll(split(text, cuts));
        expect(actual.map(({ fields, line }) => ({ fields, line }))).toEqual(
          expected.map(({ fields, line }) => ({ fields, line })),
        );
        expect(actual.map((record) => record.endOffset)).toEqual(
          expected.map((record) => Buffer.byteLength(text.slice(0, record.end))),
        );
      }),
      { numRuns: 500 },
    );
  });
});
