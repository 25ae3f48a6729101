import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { selectMode, type ModeParts } from '../../src/mode/mode.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';

// The mode decides, in one place, what a process works with: REDIS_URL unset = embedded,
// set = scaled. Each part is exercised by its own contract suite; this checks the choice.

const root = path.resolve(import.meta.dirname, '../..');
const opened: ModeParts[] = [];
const close = async (parts: ModeParts) => {
  for (const closable of parts.closables) await closable.close();
};
afterAll(async () => {
  for (const parts of opened.splice(0)) await close(parts);
});
const open = async (env: Record<string, string>, runJobs?: boolean) => {
  const parts = await selectMode(loadConfig(env)).open({ runJobs });
  opened.push(parts);
  return parts;
};

describe('embedded mode (no REDIS_URL)', () => {
  it('runs jobs in the server, in-process, with no readiness check of its own', async () => {
    const mode = selectMode(loadConfig({}));
    expect(mode).toMatchObject({ name: 'embedded', jobsRunInWorkers: false });
    const parts = await open({});
    expect(parts.runsJobs).toBe(true);
    expect(parts.readinessChecks).toEqual([]);
    expect(parts.closables.map((closable) => closable.name)).toEqual(['job queue', 'progress bus']);
    expect((await open({}, false)).runsJobs).toBe(false);
  });

  it('never loads ioredis or bullmq', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'product-importer-mode-'));
    // ioredis is CommonJS, and bullmq loads it: once either is imported, ioredis is in require's cache.
    const probe = `
      import { createRequire } from 'node:module';
      import { loadConfig } from './src/config.js';
      import { openRuntime } from './src/runtime.js';
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((file) => file.includes('/node_modules/ioredis/'));
      const runtime = await openRuntime(loadConfig({ DATA_DIR: ${JSON.stringify(dataDir)}, LOG_LEVEL: 'silent' }));
      const embedded = loaded();
      await runtime.close();
      await import('./src/mode/mode.scaled.js');
      console.log(JSON.stringify({ embedded, afterScaled: loaded() }));
    `;
    try {
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { cwd: root, timeout: 30_000 });
      expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({ embedded: false, afterScaled: true });
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!(await redisAvailable()))('scaled mode (REDIS_URL set)', () => {
  const prefix = `pi-test-${randomBytes(5).toString('hex')}`;
  const env = { REDIS_URL, REDIS_PREFIX: prefix };
  afterAll(async () => {
    for (const parts of opened.splice(0)) await close(parts);
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('runs jobs only in workers, and makes /readyz ask Redis', async () => {
    const mode = selectMode(loadConfig(env));
    expect(mode).toMatchObject({ name: 'scaled', jobsRunInWorkers: true });
    expect(mode.description).toBe(`BullMQ on ${new URL(REDIS_URL).host}, prefix ${prefix}`);
    const api = await open(env);
    expect(api.runsJobs).toBe(false);
    expect(api.readinessChecks.map((check) => check.name)).toEqual(['redis']);
    await api.readinessChecks[0]!.check();
    expect(api.closables.map((closable) => closable.name)).toEqual(['job queue', 'progress bus', 'outbox signal', 'redis readiness check']);
    expect((await open(env, true)).runsJobs).toBe(true);
  });
});
