// A streaming RFC 4180 CSV reader made for the import: besides the fields of each record it
// knows the line number where the record starts (for error reports) and the exact byte
// offset where it ends (for checkpoints), which none of the parser packages give. It was
// also the fastest correct parser measured on a 500k-row catalog (see docs/imports.md).
//
// Text arrives as decoded string chunks; the reader scans them with indexOf (cached
// positions of the next comma and newline, so a field costs two short searches, not a
// per-character loop). It is linear in its input: a record cut by the end of a chunk is not
// read again, its state (the fields so far, the field being read, whether inside quotes) is
// kept and reading goes on where it stopped; and every search starts past the previous one.
// A record longer than the limit is read to its end without keeping its text and reported
// as malformed, so one bad record costs one row, never the file or the memory.

const QUOTE = 34;
const LF = 10;
const CR = 13;

/** A record longer than this (in characters) is skipped as malformed: no valid row comes near it. */
export const MAX_RECORD_CHARS = 1 << 20;
/** The raw text kept of a record, for error reports. */
export const MAX_RAW_TEXT_CHARS = 16 * 1024;

export interface CsvRecord {
  /** For a record over the size limit, only the fields completed before it went over. */
  fields: string[];
  /** File line (1-based) where the record starts; a quoted newline makes a record span lines. */
  line: number;
  /** Why the record is broken (quoting, size), when it is. */
  malformed: string | null;
}

/** Where the reader is: between records, at the start of a field, or inside one. */
const RECORD_START = 0;
const FIELD_START = 1;
const UNQUOTED = 2;
const QUOTED = 3;
/** Just after a quote inside a quoted field: the closing quote, unless another quote follows (a chunk may end between them). */
const QUOTE_SEEN = 4;
/** Text after a closing quote, up to the next comma or line break. */
const AFTER_QUOTE = 5;
type Mode = typeof RECORD_START | typeof FIELD_START | typeof UNQUOTED | typeof QUOTED | typeof QUOTE_SEEN | typeof AFTER_QUOTE;

/** Cached search result meaning "none in the rest of this chunk". */
const NONE = -2;
/** Cached search result meaning "not searched yet". */
const UNKNOWN = -1;

export class CsvReader {
  private text = '';
  /** A high surrogate ending the last chunk, kept for the next. */
  private heldBack = '';
  private pos = 0;
  private line: number;
  private nextComma = UNKNOWN;
  private nextNewline = UNKNOWN;

  private mode: Mode = RECORD_START;
  private fields: string[] = [];
  /** The field being read: what earlier chunks (or earlier segments of a quoted field) gave of it. */
  private field = '';
  /** In AFTER_QUOTE: the length of the quoted value, to see whether text followed it. */
  private quotedLength = 0;
  private recordLine = 0;
  private recordQuoted = false;
  private malformed: string | null = null;
  /** Where the current record starts in `text`; -1 when it started in an earlier chunk. */
  private recordStart = 0;
  /** Characters of the current record in earlier chunks, and the first of them, for error reports. */
  private carriedChars = 0;
  private carriedRaw = '';
  private tooLong = false;

  /** Byte offset of `text[0]` in the input, and a measured point inside `text`, for offsets. */
  private textStartByte: number;
  private measuredChar = 0;
  private measuredByte = 0;
  /** End of the last record in `text`; -1 when it ended in an earlier chunk, at `earlierEndByte`. */
  private lastRecordEnd = 0;
  private earlierEndByte: number;
  /** The last record given to onRecord: its start in `text` (or -1) and its text from earlier chunks. */
  private lastStart = 0;
  private lastCarriedRaw = '';

  /**
   * @param startByte byte offset in the decoded input where the text given first begins
   * @param startLine line number of that position
   * @param maxRecordChars records longer than this are reported malformed, their text not kept
   */
  constructor(
    startByte = 0,
    startLine = 1,
    private readonly maxRecordChars = MAX_RECORD_CHARS,
  ) {
    this.textStartByte = startByte;
    this.earlierEndByte = startByte;
    this.line = startLine;
  }

  /**
   * Reads the records completed by `chunk`, calling `onRecord` for each in order. Inside
   * `onRecord`, endOffset() and endLine() describe the position just after that record.
   */
  push(chunk: string, onRecord: (record: CsvRecord) => void): void {
    let text = this.heldBack === '' ? chunk : this.heldBack + chunk;
    this.heldBack = '';
    // A chunk cut between the halves of a surrogate pair: its bytes are counted with the pair whole.
    const last = text.charCodeAt(text.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) {
      this.heldBack = text.slice(-1);
      text = text.slice(0, -1);
    }
    this.nextChunk(text);
    this.read(false, onRecord);
    this.carryRecord();
  }

  /** End of input: the last record may lack its newline. */
  finish(onRecord: (record: CsvRecord) => void): void {
    if (this.heldBack !== '') {
      this.nextChunk(this.heldBack);
      this.heldBack = '';
    }
    this.read(true, onRecord);
  }

  /** Byte offset in the input just past the last record given to onRecord. */
  endOffset(): number {
    const end = this.lastRecordEnd;
    if (end < 0) return this.earlierEndByte;
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

  /**
   * The raw text of the last record given to onRecord, without its line break, cut at `maxChars`
   * (of a record spanning chunks, at most MAX_RAW_TEXT_CHARS are kept).
   */
  lastRecordText(maxChars: number): string {
    const end = this.lastRecordEnd;
    const start = Math.max(this.lastStart, 0);
    let raw = this.lastCarriedRaw + this.text.slice(start, Math.min(end, start + maxChars + 2));
    if (raw.length > maxChars) return raw.slice(0, maxChars);
    if (raw.charCodeAt(raw.length - 1) === LF) raw = raw.slice(0, raw.charCodeAt(raw.length - 2) === CR ? -2 : -1);
    return raw;
  }

  /** Moves to a new chunk: the byte accounting to its start, the searches reset. */
  private nextChunk(chunk: string): void {
    if (this.lastRecordEnd >= 0) this.earlierEndByte = this.endOffset();
    this.measuredByte += Buffer.byteLength(this.text.slice(this.measuredChar), 'utf8');
    this.textStartByte += this.measuredByte;
    this.measuredChar = 0;
    this.measuredByte = 0;
    this.lastRecordEnd = -1;
    this.lastStart = -1;
    this.text = chunk;
    this.pos = 0;
    this.nextComma = UNKNOWN;
    this.nextNewline = UNKNOWN;
  }

  /** At the end of a chunk, keeps what the record being read needs, within the size limit. */
  private carryRecord(): void {
    if (this.mode === RECORD_START) return;
    const from = Math.max(this.recordStart, 0);
    if (this.carriedRaw.length < MAX_RAW_TEXT_CHARS) {
      this.carriedRaw += this.text.slice(from, from + MAX_RAW_TEXT_CHARS - this.carriedRaw.length);
    }
    this.carriedChars += this.text.length - from;
    this.recordStart = -1;
    if (this.carriedChars > this.maxRecordChars) this.tooLong = true;
    if (this.tooLong) this.field = '';
  }

  private read(final: boolean, onRecord: (record: CsvRecord) => void): void {
    const text = this.text;
    const length = text.length;
    let pos = this.pos;
    for (;;) {
      switch (this.mode) {
        case RECORD_START: {
          if (pos >= length) {
            this.pos = pos;
            return;
          }
          // A blank line is no record (fast path: a file may hold millions of them).
          const first = text.charCodeAt(pos);
          if (first === LF || (first === CR && text.charCodeAt(pos + 1) === LF)) {
            this.lastStart = pos;
            pos += first === LF ? 1 : 2;
            this.line++;
            this.lastRecordEnd = pos;
            this.lastCarriedRaw = '';
            continue;
          }
          this.startRecord(pos, first === QUOTE);
          this.mode = FIELD_START;
          continue;
        }
        case FIELD_START: {
          if (pos >= length && !final) {
            this.pos = pos;
            return;
          }
          if (pos < length && text.charCodeAt(pos) === QUOTE) {
            pos++;
            this.mode = QUOTED;
          } else {
            this.mode = UNQUOTED;
          }
          continue;
        }
        case UNQUOTED:
        case AFTER_QUOTE: {
          const end = this.fieldEnd(pos);
          if (end === NONE && !final) {
            this.appendToField(text, pos, length);
            this.pos = length;
            return;
          }
          const stop = end === NONE ? length : end;
          let value = this.field === '' ? text.slice(pos, stop) : this.field + text.slice(pos, stop);
          this.field = '';
          const lineBreak = end === NONE || text.charCodeAt(end) === LF;
          const quotedLength = this.mode === AFTER_QUOTE ? this.quotedLength : 0;
          // A CR before the LF belongs to the line break (and a last line's trailing CR to no field).
          if (lineBreak && value.length > quotedLength && value.charCodeAt(value.length - 1) === CR) value = value.slice(0, -1);
          if (this.mode === AFTER_QUOTE && value.length > quotedLength) {
            // Text after the closing quote: keep it, as lenient readers do, but reject the row.
            this.malformed ??= 'unexpected text after a closing quote';
          }
          this.addField(value);
          if (end === NONE) {
            this.endRecord(length, onRecord);
            this.pos = length;
            return;
          }
          pos = end + 1;
          if (lineBreak) {
            this.line++;
            this.endRecord(pos, onRecord);
          } else {
            this.mode = FIELD_START;
          }
          continue;
        }
        case QUOTED: {
          const quote = text.indexOf('"', pos);
          if (quote === -1) {
            this.countLines(pos, length);
            this.appendToField(text, pos, length);
            if (!final) {
              this.pos = length;
              return;
            }
            this.malformed ??= 'unterminated quoted field';
            this.addField(this.field);
            this.field = '';
            this.endRecord(length, onRecord);
            this.pos = length;
            return;
          }
          this.countLines(pos, quote);
          if (quote + 1 < length && text.charCodeAt(quote + 1) === QUOTE) {
            // A doubled quote: one quote character of the value.
            this.appendToField(text, pos, quote + 1);
            pos = quote + 2;
            continue;
          }
          this.appendToField(text, pos, quote);
          pos = quote + 1;
          this.mode = QUOTE_SEEN;
          continue;
        }
        case QUOTE_SEEN: {
          if (pos >= length && !final) {
            this.pos = pos;
            return;
          }
          if (pos < length && text.charCodeAt(pos) === QUOTE) {
            this.appendToField(text, pos, pos + 1);
            pos++;
            this.mode = QUOTED;
            continue;
          }
          // The closing quote: what follows up to the next comma or line break should be nothing.
          this.quotedLength = this.field.length;
          this.mode = AFTER_QUOTE;
          continue;
        }
      }
    }
  }

  private startRecord(pos: number, quoted: boolean): void {
    this.fields = [];
    this.field = '';
    this.recordLine = this.line;
    this.recordQuoted = quoted;
    this.malformed = null;
    this.recordStart = pos;
    this.carriedChars = 0;
    this.carriedRaw = '';
    this.tooLong = false;
  }

  private appendToField(text: string, from: number, to: number): void {
    if (!this.tooLong) this.field += text.slice(from, to);
  }

  private addField(value: string): void {
    if (!this.tooLong) this.fields.push(value);
  }

  private endRecord(end: number, onRecord: (record: CsvRecord) => void): void {
    this.mode = RECORD_START;
    this.lastStart = this.recordStart;
    this.lastCarriedRaw = this.carriedRaw;
    this.lastRecordEnd = end;
    const chars = this.carriedChars + end - Math.max(this.recordStart, 0);
    const fields = this.fields;
    this.fields = [];
    if (this.tooLong || chars > this.maxRecordChars) {
      onRecord({
        fields,
        line: this.recordLine,
        malformed: `the record is longer than ${this.maxRecordChars} characters (the limit); it was skipped`,
      });
      return;
    }
    // A line holding only a CR (or nothing, at the end of the input) is no record either.
    if (fields.length === 1 && fields[0] === '' && !this.recordQuoted) return;
    onRecord({ fields, line: this.recordLine, malformed: this.malformed });
  }

  /** Position of the comma or LF ending an unquoted field starting at `pos`, or NONE in this chunk. */
  private fieldEnd(pos: number): number {
    const text = this.text;
    if (this.nextComma !== NONE && this.nextComma < pos) {
      const comma = text.indexOf(',', pos);
      this.nextComma = comma === -1 ? NONE : comma;
    }
    const newline = this.newlineFrom(pos);
    const comma = this.nextComma;
    if (comma === NONE) return newline;
    if (newline === NONE) return comma;
    return comma < newline ? comma : newline;
  }

  /** The next LF at or after `pos`, or NONE; every search starts past the previous one's result. */
  private newlineFrom(pos: number): number {
    if (this.nextNewline !== NONE && this.nextNewline < pos) {
      const newline = this.text.indexOf('\n', pos);
      this.nextNewline = newline === -1 ? NONE : newline;
    }
    return this.nextNewline;
  }

  /** Counts the line breaks in text[from, to) (inside a quoted field). */
  private countLines(from: number, to: number): void {
    for (let newline = this.newlineFrom(from); newline !== NONE && newline < to; newline = this.newlineFrom(newline + 1)) {
      this.line++;
    }
  }
}
