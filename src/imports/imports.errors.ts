/** A file the upload route refuses before creating a job; the message is shown to the user (400). */
export class CsvFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CsvFileError';
  }
}

/** An import that cannot go on (gzip bomb, corrupt gzip, unreadable file); the message is shown to users. */
export class ImportFailedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImportFailedError';
  }
}
