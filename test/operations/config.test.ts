import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('configuration', () => {
  it('has a working default for every setting', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8000,
      host: '0.0.0.0',
      database: { dialect: 'sqlite', file: path.resolve('data/products.db'), cacheKib: 4096 },
      redisUrl: null,
      jobLockTimeoutMs: 30_000,
      workerHttpPort: 0,
      uploadDir: path.resolve('data/uploads'),
      maxUploadBytes: 1073741824,
      apiToken: null,
      sessionTtlHours: 12,
      searchIndexer: true,
      webhooks: { allowPrivateNetworks: false, timeoutMs: 10000, maxAttempts: 8, backoffBaseMs: 5000, pollIntervalMs: 1000 },
      logLevel: 'info',
      uploadMaxKeptFiles: 100,
      uploadMaxKeptBytes: 10 * 1024 ** 3,
      maxConcurrentUploads: 4,
      uploadIdleTimeoutMs: 30_000,
      http: { requestTimeoutMs: 3_600_000, headersTimeoutMs: 30_000, idleTimeoutMs: 120_000 },
      retention: { deliveriesDays: 30, jobsDays: 90, outboxDays: 7, intervalMs: 3_600_000 },
    });
  });

  it('reads DATABASE_URL: postgres selects PostgreSQL, sqlite: an explicit file', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h:5432/db' }).database).toEqual({ dialect: 'postgres', url: 'postgres://u@h:5432/db' });
    expect(loadConfig({ DATABASE_URL: 'postgresql://u@h/db' }).database.dialect).toBe('postgres');
    expect(loadConfig({ DATABASE_URL: 'sqlite:/tmp/x.db' }).database).toEqual({ dialect: 'sqlite', file: '/tmp/x.db', cacheKib: 4096 });
    expect(loadConfig({ DATABASE_URL: 'sqlite:///tmp/y.db' }).database).toEqual({ dialect: 'sqlite', file: '/tmp/y.db', cacheKib: 4096 });
    expect(loadConfig({ DATA_DIR: '/srv/pi' }).uploadDir).toBe('/srv/pi/uploads');
  });

  it('sizes the SQLite page cache of every connection from IMPORT_MEMORY_MB (1/32 of it)', () => {
    expect(loadConfig({ IMPORT_MEMORY_MB: '256' }).database).toMatchObject({ dialect: 'sqlite', cacheKib: 8192 });
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['MAX_UPLOAD_BYTES', '-5'],
    ['MAX_UPLOAD_BYTES', '0'],
    ['DATABASE_URL', 'mysql://x'],
    ['DATABASE_URL', 'not a url'],
    ['REDIS_URL', 'http://localhost'],
    ['WEBHOOK_ALLOW_PRIVATE_NETWORKS', 'sometimes'],
    ['WEBHOOK_TIMEOUT_MS', '1.5'],
    ['WEBHOOK_MAX_ATTEMPTS', '0'],
    ['RETENTION_JOBS_DAYS', '0'],
    ['RETENTION_DELIVERIES_DAYS', 'forever'],
    ['UPLOAD_MAX_KEPT_FILES', '0'],
    ['MAX_CONCURRENT_UPLOADS', '0'],
    ['HTTP_HEADERS_TIMEOUT_MS', '10'],
    ['LOG_LEVEL', 'loud'],
    ['SESSION_TTL_HOURS', '0'],
    ['SEARCH_INDEXER', 'maybe'],
    ['JOB_LOCK_TIMEOUT_MS', '500'],
    ['WORKER_HTTP_PORT', '70000'],
    ['IMPORT_MEMORY_MB', '32'],
  ])('rejects %s=%s with a one-line message naming it', (name, value) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(name);
    expect((error as Error).message).not.toContain('\n');
  });
});
