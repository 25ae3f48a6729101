import path from 'node:path';

/** Everything the process reads from its environment, validated once at start. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  database: DatabaseConfig;
  redisUrl: string | null;
  /** Prefix of every Redis key and channel of ours (queues, progress), so several installs can share a Redis. */
  redisPrefix: string;
  /**
   * Scaled mode: how long a worker may go without renewing the lock of the job it runs before
   * the job counts as stalled (its worker died) and another worker takes it over.
   */
  jobLockTimeoutMs: number;
  /**
   * Where `npm run worker` serves /healthz, /readyz and /metrics, bound to `host` like the API.
   * 0 (the default outside the Docker image, which sets 8001): not at all, so that any number of
   * workers start on one machine without each being given a port.
   */
  workerHttpPort: number;
  uploadDir: string;
  maxUploadBytes: number;
  /** How long the file of a failed or cancelled import is kept for a retry before it is deleted. */
  uploadRetentionHours: number;
  /** Bounds on the stored upload files together (imports waiting, running, or kept for a retry). */
  uploadMaxKeptFiles: number;
  uploadMaxKeptBytes: number;
  /** Uploads being received at once by this process; more answer 503. */
  maxConcurrentUploads: number;
  /** An upload that sends no byte for this long is aborted and its partial file deleted. */
  uploadIdleTimeoutMs: number;
  http: HttpTimeouts;
  retention: RetentionConfig;
  apiToken: string | null;
  /** How long a web UI session (cookie) lasts. */
  sessionTtlHours: number;
  /** Whether processes that run jobs also run the background search indexer (off: searches stay exact, only slower). */
  searchIndexer: boolean;
  /** The memory of one job thread, in MiB (IMPORT_MEMORY_MB): see importMemoryShares. */
  importMemoryMb: number;
  webhooks: WebhookConfig;
  logLevel: string;
}

export interface HttpTimeouts {
  /** Receiving one whole request (headers and body); long enough for a large upload on a slow link. */
  requestTimeoutMs: number;
  /** Receiving a request's headers. */
  headersTimeoutMs: number;
  /** A connection with no byte either way for this long is closed (SSE streams send a heartbeat every 15 s). */
  idleTimeoutMs: number;
}

/** How long finished records are kept before the background retention task deletes them. */
export interface RetentionConfig {
  /** Delivery log entries that ended (succeeded, failed, or retried), by their attempt time. */
  deliveriesDays: number;
  /** Finished jobs (and their rejected rows), by their finish time. */
  jobsDays: number;
  /** Outbox events after they were fanned out, once no delivery of them is pending. */
  outboxDays: number;
  /** How often the task runs. */
  intervalMs: number;
}

export type DatabaseConfig =
  | {
      dialect: 'sqlite';
      file: string;
      /** The page cache of each connection the app opens, in KiB (importMemoryShares' connectionCacheKib; default at DEFAULT_IMPORT_MEMORY_MB). */
      cacheKib?: number;
    }
  | { dialect: 'postgres'; url: string; schema?: string };

export interface WebhookConfig {
  allowPrivateNetworks: boolean;
  timeoutMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
  /** Requests in flight from one process's dispatcher, all endpoints together. */
  concurrency: number;
  /** Requests in flight from one process's dispatcher to one endpoint (a slow endpoint holds only these). */
  concurrencyPerEndpoint: number;
  /** How often the dispatcher looks for work no notification announced (due retries, expired leases, missed signals). */
  pollIntervalMs: number;
}

/** A setting with an invalid value; its message is the single line printed at start. */
export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export const DEFAULT_IMPORT_MEMORY_MB = 128;

/** How IMPORT_MEMORY_MB is shared: see importMemoryShares. */
export interface MemoryShares {
  /** The job thread's JavaScript heap (V8's old-generation limit), in MiB. */
  heapMb: number;
  /**
   * The young generation of a job thread, in MiB: an import allocates fast and briefly (records,
   * then batches), and V8 would grow it to its 32+ MiB maximum, all resident. 8 MiB kept the
   * server's peak RSS ~25 MB lower; 2 MiB another ~10 MB (a SQLite import and re-import in one
   * server, peak 252 -> 242 MB), and costs no time now that the parse runs beside the writes.
   */
  youngGenerationMb: number;
  /** The part of that heap an import's batches may hold (the one being parsed and one waiting for the sink). */
  batchBytes: number;
  /** SQLite: the page cache of the import's connection, in KiB. */
  pageCacheKib: number;
  /** SQLite: the page cache of the import's temporary database (its staging table), in KiB. */
  tempCacheKib: number;
  /** SQLite: the page cache of each other connection of the process (the API's, the search indexer's, a job thread's own), in KiB. */
  connectionCacheKib: number;
}

/**
 * How the memory budget (IMPORT_MEMORY_MB) is shared, in this one place. A job thread: ¾ is its
 * JavaScript heap (V8's old-generation limit), of which a third holds an import's batches; ¼ is the
 * SQLite page cache of the import's connection, and 1/32 the cache of that connection's temporary
 * database (beyond it, the merge's statement journal and sorter runs go to a temporary file, not to
 * the heap). On SQLite that connection is on a writer thread of the import's
 * (src/db/import-sink.sqlite.ts; its heap holds no batch). Each other SQLite connection of the
 * process (the API's, the search indexer's, a job thread's own) caches 1/32. At 128: a 96 MiB heap
 * limit with 32 MiB of batches, a 32 + 4 MiB import cache, 4 MiB per other connection. PostgreSQL's
 * caches are the server's. Limits, not reservations: the heaps take what they use.
 */
export function importMemoryShares(memoryMb: number): MemoryShares {
  const kib = memoryMb * 1024;
  return {
    heapMb: Math.floor((memoryMb * 3) / 4),
    youngGenerationMb: 2,
    batchBytes: Math.floor((memoryMb * 1024 * 1024) / 4),
    pageCacheKib: Math.floor(kib / 4),
    tempCacheKib: Math.floor(kib / 32),
    connectionCacheKib: Math.floor(kib / 32),
  };
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(env: Env = process.env): Config {
  const dataDir = path.resolve(readString(env, 'DATA_DIR') ?? './data');
  const importMemoryMb = readInteger(env, 'IMPORT_MEMORY_MB', DEFAULT_IMPORT_MEMORY_MB, 64, 65_536);
  return {
    port: readInteger(env, 'PORT', 8000, 0, 65535),
    host: readString(env, 'HOST') ?? '0.0.0.0',
    dataDir,
    database: readDatabase(env, dataDir, importMemoryShares(importMemoryMb).connectionCacheKib),
    redisUrl: readUrl(env, 'REDIS_URL', ['redis:', 'rediss:']),
    redisPrefix: readRedisPrefix(env),
    jobLockTimeoutMs: readInteger(env, 'JOB_LOCK_TIMEOUT_MS', 30_000, 1000, 3_600_000),
    workerHttpPort: readInteger(env, 'WORKER_HTTP_PORT', 0, 0, 65535),
    uploadDir: path.resolve(readString(env, 'UPLOAD_DIR') ?? path.join(dataDir, 'uploads')),
    maxUploadBytes: readInteger(env, 'MAX_UPLOAD_BYTES', 1024 ** 3, 1, Number.MAX_SAFE_INTEGER),
    uploadRetentionHours: readInteger(env, 'UPLOAD_RETENTION_HOURS', 7 * 24, 0, 24 * 365 * 10),
    uploadMaxKeptFiles: readInteger(env, 'UPLOAD_MAX_KEPT_FILES', 100, 1, 1_000_000),
    uploadMaxKeptBytes: readInteger(env, 'UPLOAD_MAX_KEPT_BYTES', 10 * 1024 ** 3, 1, Number.MAX_SAFE_INTEGER),
    maxConcurrentUploads: readInteger(env, 'MAX_CONCURRENT_UPLOADS', 4, 1, 1000),
    uploadIdleTimeoutMs: readInteger(env, 'UPLOAD_IDLE_TIMEOUT_MS', 30_000, 100, 3_600_000),
    http: {
      requestTimeoutMs: readInteger(env, 'HTTP_REQUEST_TIMEOUT_MS', 3_600_000, 1000, 24 * 3_600_000),
      headersTimeoutMs: readInteger(env, 'HTTP_HEADERS_TIMEOUT_MS', 30_000, 1000, 600_000),
      idleTimeoutMs: readInteger(env, 'HTTP_IDLE_TIMEOUT_MS', 120_000, 1000, 3_600_000),
    },
    retention: {
      deliveriesDays: readInteger(env, 'RETENTION_DELIVERIES_DAYS', 30, 1, 3650),
      jobsDays: readInteger(env, 'RETENTION_JOBS_DAYS', 90, 1, 3650),
      outboxDays: readInteger(env, 'RETENTION_OUTBOX_DAYS', 7, 1, 3650),
      intervalMs: readInteger(env, 'RETENTION_INTERVAL_MINUTES', 60, 1, 7 * 24 * 60) * 60_000,
    },
    apiToken: readString(env, 'API_TOKEN'),
    sessionTtlHours: readInteger(env, 'SESSION_TTL_HOURS', 12, 1, 24 * 30),
    searchIndexer: readBoolean(env, 'SEARCH_INDEXER', true),
    importMemoryMb,
    webhooks: {
      allowPrivateNetworks: readBoolean(env, 'WEBHOOK_ALLOW_PRIVATE_NETWORKS', false),
      timeoutMs: readInteger(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 1, 600_000),
      maxAttempts: readInteger(env, 'WEBHOOK_MAX_ATTEMPTS', 8, 1, 100),
      backoffBaseMs: readInteger(env, 'WEBHOOK_BACKOFF_BASE_MS', 5_000, 1, 36_000_000),
      concurrency: readInteger(env, 'WEBHOOK_CONCURRENCY', 100, 1, 10_000),
      concurrencyPerEndpoint: readInteger(env, 'WEBHOOK_CONCURRENCY_PER_ENDPOINT', 10, 1, 1_000),
      pollIntervalMs: readInteger(env, 'WEBHOOK_POLL_INTERVAL_MS', 1_000, 10, 3_600_000),
    },
    logLevel: readChoice(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
  };
}

function readString(env: Env, name: string): string | null {
  const value = env[name]?.trim();
  return value ? value : null;
}

function readInteger(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = readString(env, name);
  if (raw === null) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${raw}`);
  return value;
}

function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = readString(env, name)?.toLowerCase();
  if (raw === undefined || raw === null) return fallback;
  if (['true', '1', 'yes'].includes(raw)) return true;
  if (['false', '0', 'no'].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

function readChoice(env: Env, name: string, choices: string[], fallback: string): string {
  const raw = readString(env, name)?.toLowerCase();
  if (!raw) return fallback;
  if (!choices.includes(raw)) throw new ConfigError(name, `must be one of ${choices.join(', ')}, got "${raw}"`);
  return raw;
}

function readUrl(env: Env, name: string, protocols: string[]): string | null {
  const raw = readString(env, name);
  if (raw === null) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, 'is not a valid URL');
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(name, `must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  }
  return raw;
}

function readRedisPrefix(env: Env): string {
  const raw = readString(env, 'REDIS_PREFIX') ?? 'product-importer';
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(raw)) throw new ConfigError('REDIS_PREFIX', 'must be 1-64 letters, digits, ".", "_" or "-"');
  return raw;
}

function readDatabase(env: Env, dataDir: string, cacheKib: number): DatabaseConfig {
  const raw = readString(env, 'DATABASE_URL');
  if (raw === null) return { dialect: 'sqlite', file: path.join(dataDir, 'products.db'), cacheKib };
  if (raw.startsWith('sqlite:')) {
    const file = raw.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!file) throw new ConfigError('DATABASE_URL', 'sqlite: needs a file path, e.g. sqlite:/data/products.db');
    return { dialect: 'sqlite', file: path.resolve(file), cacheKib };
  }
  const url = readUrl(env, 'DATABASE_URL', ['postgres:', 'postgresql:', 'sqlite:']);
  return { dialect: 'postgres', url: url as string };
}

/** For entry points: the configuration, or the process stops with one line naming the bad variable. */
export function loadConfigOrExit(env: Env = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}
