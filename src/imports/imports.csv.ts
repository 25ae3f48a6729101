// A streaming RFC 4180 CSV reader made for the import: besides the fields of each record it
// knows the line number where the record starts (for error reports) and the exact byte
// offset where it ends (for checkpoints), which none of the parser packages give. It was
// also the fastest correct parser measured on a 500k-row catalog (see docs/imports.md).
//
// Text arrives as decoded string chunks; the reader scans them with indexOf (cached
// positions of the next comma and newline, so a field costs two short searches, not a
// per-character loop) and carries an incomplete last record over to the next chunk.

const COMMA = 44;
const QUOTE = 34;
const LF = 10;
const CR = 13;

/** A record this long (in characters) is refused: no valid row comes near it. */
export const MAX_RECORD_CHARS = 1 << 20;

export interface CsvRecord {
  fields: string[];
  /** File line (1-based) where the record starts; a quoted newline makes a record span lines. */
  line: number;
  /** Why the record's quoting is broken, when it is. */
  malformed: string | null;
}

export class CsvRecordTooLongError extends Error {
  constructor(readonly line: number) {
    super(
      `Line ${line}: a record is longer than ${MAX_RECORD_CHARS} characters (an unterminated quoted field?); the file cannot be read.`,
    );
    this.name = 'CsvRecordTooLongError';
  }
}

export class CsvReader {
  /** The text not yet consumed: the start of an incomplete record, then the newest chunk. */
  private text = '';
  private pos = 0;
  private line: number;
  private nextComma = -1;
  private nextNewline = -1;
  /** Byte offset of `text[0]` in the input, and a measured point inside `text`, for offsets. */
  private textStartByte: number;
  private measuredChar = 0;
  private measuredByte = 0;
  private lastRecordEnd = 0;

  /**
   * @param startByte byte offset in the decoded input where the text given first begins
   * @param startLine line number of that position
   */
  constructor(startByte = 0, startLine = 1) {
    this.textStartByte = startByte;
    this.line = startLine;
  }

  /**
   * Reads the records completed by `chunk`, calling `onRecord` for each in order. Inside
   * `onRecord`, endOffset() and endLine() describe the position just after that record.
   */
  push(chunk: string, onRecord: (record: CsvRecord) => void): void {
    this.rebase();
    this.text = this.pos < this.text.length ? this.text.slice(this.pos) + chunk : chunk;
    this.pos = 0;
    this.nextComma = -1;
    this.nextNewline = -1;
    this.readRecords(false, onRecord);
  }

  /** End of input: the last record may lack its newline. */
  finish(onRecord: (record: CsvRecord) => void): void {
    this.readRecords(true, onRecord);
    this.rebase();
    this.text = '';
    this.pos = 0;
  }

  /** Byte offset in the input just past the last record given to onRecord. */
  endOffset(): number {
    const end = this.lastRecordEnd;
    if (end < this.measuredChar) {
      this.measuredChar = 0;
      this.measuredByte = 0;
    }
    this.measuredByte += Buffer.byteLength(this.text.slice(this.measuredChar, end), 'utf8');
    this.measuredChar = end;
    return this.textStartByte + this.measuredByte;
  }

  /** Line number where the record after the last one given to onRecord starts. */
  endLine(): number {
    return this.line;
  }

  /** The raw text of the last record given to onRecord, without its line break, cut at `maxChars`. */
  lastRecordText(maxChars: number): string {
    const raw = this.text.slice(this.recordStart, this.lastRecordEnd).replace(/\r?\n$/, '');
    return raw.length > maxChars ? raw.slice(0, maxChars) : raw;
  }

  private recordStart = 0;

  /** Moves the byte accounting to the start of the unconsumed text. */
  private rebase(): void {
    this.lastRecordEnd = this.pos;
    this.textStartByte = this.endOffset();
    this.measuredChar = 0;
    this.measuredByte = 0;
    this.lastRecordEnd = 0;
  }

  private readRecords(final: boolean, onRecord: (record: CsvRecord) => void): void {
    const text = this.text;
    const length = text.length;
    while (this.pos < length) {
      const start = this.pos;
      // A blank line is no record (fast path: a file may hold millions of them).
      const first = text.charCodeAt(start);
      if (first === LF || (first === CR && text.charCodeAt(start + 1) === LF)) {
        this.pos = start + (first === LF ? 1 : 2);
        this.line++;
        this.recordStart = start;
        this.lastRecordEnd = this.pos;
        continue;
      }
      if (first === CR && start + 1 >= length && !final) return;
      const startLine = this.line;
      const record = this.readRecord(final);
      if (record === null) {
        this.pos = start;
        this.line = startLine;
        // The cached positions were found from further on; the record is read again from its start.
        this.nextComma = -1;
        this.nextNewline = -1;
        if (length - start > MAX_RECORD_CHARS) throw new CsvRecordTooLongError(startLine);
        return;
      }
      this.recordStart = start;
      this.lastRecordEnd = this.pos;
      // A last line holding only a CR.
      if (record.fields.length === 1 && record.fields[0] === '' && first !== QUOTE) continue;
      onRecord(record);
    }
  }

  /** One record from `pos`, or null when the text ends before it does (and more may come). */
  private readRecord(final: boolean): CsvRecord | null {
    const text = this.text;
    const length = text.length;
    const fields: string[] = [];
    const line = this.line;
    let malformed: string | null = null;
    for (;;) {
      let pos = this.pos;
      if (pos < length && text.charCodeAt(pos) === QUOTE) {
        const quoted = this.readQuoted(pos + 1, final);
        if (quoted === null) return null;
        let value = quoted.value;
        pos = quoted.end;
        if (quoted.unterminated) {
          malformed = 'unterminated quoted field';
        } else if (pos < length) {
          const next = text.charCodeAt(pos);
          if (next !== COMMA && next !== LF && !(next === CR && text.charCodeAt(pos + 1) === LF)) {
            // Text after the closing quote: keep it, as lenient readers do, but reject the row.
            malformed = 'unexpected text after a closing quote';
            const end = this.fieldEnd(pos, final);
            if (end === null) return null;
            value += text.slice(pos, end);
            pos = end;
          } else if (next === CR && pos + 1 >= length && !final) {
            return null;
          }
        } else if (!final) {
          return null;
        }
        fields.push(value);
      } else {
        const end = this.fieldEnd(pos, final);
        if (end === null) return null;
        const stripCr = end > pos && text.charCodeAt(end - 1) === CR && (end === length ? final : text.charCodeAt(end) === LF);
        fields.push(text.slice(pos, stripCr ? end - 1 : end));
        pos = end;
      }
      if (pos >= length) {
        this.pos = length;
        return { fields, line, malformed };
      }
      const delimiter = text.charCodeAt(pos);
      if (delimiter === COMMA) {
        this.pos = pos + 1;
        continue;
      }
      // CR LF or LF ends the record.
      this.pos = delimiter === CR ? pos + 2 : pos + 1;
      this.line++;
      return { fields, line, malformed };
    }
  }

  /** Position of the comma or line break ending an unquoted field starting at `pos`. */
  private fieldEnd(pos: number, final: boolean): number | null {
    const text = this.text;
    if (this.nextComma < pos && this.nextComma !== -2) {
      this.nextComma = text.indexOf(',', pos);
      if (this.nextComma === -1) this.nextComma = -2;
    }
    if (this.nextNewline < pos && this.nextNewline !== -2) {
      this.nextNewline = text.indexOf('\n', pos);
      if (this.nextNewline === -1) this.nextNewline = -2;
    }
    const comma = this.nextComma < pos ? -1 : this.nextComma;
    const newline = this.nextNewline < pos ? -1 : this.nextNewline;
    if (comma === -1 && newline === -1) return final ? text.length : null;
    if (comma !== -1 && (newline === -1 || comma < newline)) return comma;
    // The field ends at the newline; a CR before it belongs to the line break.
    return text.charCodeAt(newline - 1) === CR && newline - 1 >= pos ? newline - 1 : newline;
  }

  /** A quoted field whose content starts at `from`: its value and the position after the closing quote. */
  private readQuoted(from: number, final: boolean): { value: string; end: number; unterminated: boolean } | null {
    const text = this.text;
    let value = '';
    let segmentStart = from;
    for (;;) {
      const quote = text.indexOf('"', segmentStart);
      if (quote === -1) {
        if (!final) return null;
        value += text.slice(segmentStart);
        this.countLines(segmentStart, text.length);
        return { value, end: text.length, unterminated: true };
      }
      this.countLines(segmentStart, quote);
      if (quote + 1 >= text.length && !final) return null;
      if (text.charCodeAt(quote + 1) === QUOTE) {
        value += text.slice(segmentStart, quote + 1);
        segmentStart = quote + 2;
        continue;
      }
      value += text.slice(segmentStart, quote);
      return { value, end: quote + 1, unterminated: false };
    }
  }

  private countLines(from: number, to: number): void {
    const text = this.text;
    let newline = text.indexOf('\n', from);
    while (newline !== -1 && newline < to) {
      this.line++;
      newline = text.indexOf('\n', newline + 1);
    }
  }
}
