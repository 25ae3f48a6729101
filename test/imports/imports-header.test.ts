import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { CsvFileError } from '../../src/imports/imports.errors.js';
import { inspectCsvFile, MAX_HEADER_CHARS } from '../../src/imports/imports.header.js';
import { mapHeader } from '../../src/imports/imports.rows.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imports-header-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const target = path.join(dir, name);
  fs.writeFileSync(target, content);
  return target;
}

async function rejection(target: string, gzip = false): Promise<string> {
  const error = await inspectCsvFile(target, { gzip }).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(CsvFileError);
  return (error as Error).message;
}

describe('inspectCsvFile', () => {
  it('returns the columns and a warning for unknown ones, reading only the start of the file', async () => {
    const big = `\uFEFF SKU ,Name,Color,size\r\n${'A-1,x,red,L\r\n'.repeat(200_000)}`;
    expect(await inspectCsvFile(file('ok.csv', big), { gzip: false })).toEqual({
      columns: ['SKU', 'Name', 'Color', 'size'],
      warnings: ['Unknown columns ignored: Color, size'],
    });
    expect(await inspectCsvFile(file('ok.csv.gz', zlib.gzipSync(big)), { gzip: true })).toMatchObject({ columns: ['SKU', 'Name', 'Color', 'size'] });
  });

  it('refuses an empty file, a file of blank lines and an empty .gz', async () => {
    expect(await rejection(file('empty.csv', ''))).toBe('The file is empty.');
    expect(await rejection(file('blank.csv', '\n\r\n\n'))).toMatch(/no header row/);
    expect(await rejection(file('empty.csv.gz', zlib.gzipSync('')), true)).toBe('The file is empty.');
  });

  it('refuses binary junk, text that is not UTF-8 and a .gz that is not gzip', async () => {
    const junk = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256));
    expect(await rejection(file('junk.csv', junk))).toMatch(/not a CSV/);
    expect(await rejection(file('latin1.csv', Buffer.from('sku,name\nA-1,caf\xe9\n', 'latin1')))).toMatch(/not UTF-8/);
    expect(await rejection(file('fake.csv.gz', 'sku,name\nA-1,x\n'), true)).toMatch(/not valid gzip/);
  });

  it('refuses a header without sku or name, naming what is missing and what was found', async () => {
    expect(await rejection(file('nocols.csv', 'foo,bar\n1,2\n'))).toMatch(/no sku or name column \(found: foo, bar\)/);
    expect(await rejection(file('noname.csv', 'sku,description\nA-1,x\n'))).toMatch(/no name column/);
    expect(await rejection(file('data-first.csv', 'A-1,Widget,12.50\n'))).toMatch(/no sku or name column/);
    expect(await rejection(file('twice.csv', 'sku,name,SKU\n'))).toMatch(/"sku" more than once/);
  });

  it('refuses a header that does not end within the first 64 KiB, having read no more than that', async () => {
    const quotes = `"${'""'.repeat(320_000)}"\nA-1,x\n`; // a 640 KB header of doubled quotes
    expect(await rejection(file('quotes.csv', quotes))).toMatch(/header row does not end within the first 65536 characters/);
    expect(await rejection(file('quotes.csv.gz', zlib.gzipSync(quotes)), true)).toMatch(/does not end within/);
    const unterminated = `sku,name,"${'x'.repeat(MAX_HEADER_CHARS)}`;
    expect(await rejection(file('unterminated.csv', unterminated))).toMatch(/does not end within/);
    // A header just within the limit is fine.
    const wide = `sku,name,${'c'.repeat(MAX_HEADER_CHARS - 20)}\nA-1,x,y\n`;
    expect((await inspectCsvFile(file('wide.csv', wide), { gzip: false })).columns).toHaveLength(3);
  });

  it('refuses bare-CR line ends with a message saying so', async () => {
    expect(await rejection(file('mac.csv', 'sku,name\rA-1,x\rB-2,y\r'))).toMatch(/bare CR/);
  });
});

describe('mapHeader', () => {
  it('names the first 20 unknown columns and counts the rest', () => {
    const header = ['sku', 'name', ...Array.from({ length: 120_000 }, (_, i) => `extra${i}`)];
    const { warnings } = mapHeader(header);
    expect(warnings).toEqual([
      `Unknown columns ignored: ${Array.from({ length: 20 }, (_, i) => `extra${i}`).join(', ')} … and 119,980 more`,
    ]);
    expect(mapHeader(['sku', 'name', 'x'.repeat(5000)]).warnings[0]).toBe(`Unknown columns ignored: ${'x'.repeat(100)}…`);
  });
});
