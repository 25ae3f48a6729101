import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { freePort } from '../support/ports.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';

const root = path.resolve(import.meta.dirname, '../..');
const children: ChildProcess[] = [];
const dirs: string[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'product-importer-process-'));
  dirs.push(dir);
  return dir;
}

/** Runs one of our entry points as a real process. */
function run(entry: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  /** Resolves with the first stdout line that matches (rejects when the process exits first). */
  const printed = (pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const look = () => {
        const line = stdout.split('\n').find((candidate) => pattern.test(candidate));
        if (line !== undefined) resolve(line);
      };
      child.stdout!.on('data', look);
      child.on('exit', () => reject(new Error(`exited without printing ${pattern}: ${stdout}${stderr}`)));
      look();
    });
  return { child, exited, printed, output: () => ({ stdout, stderr }) };
}

async function waitForHealth(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`server on ${port} did not become healthy`);
}

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the server process', () => {
  it('stops at start with one line naming an invalid variable', async () => {
    const server = run('src/server.ts', { DATA_DIR: tempDir(), PORT: 'eighty' });
    expect(await server.exited).not.toBe(0);
    const { stderr } = server.output();
    expect(stderr.trim().split('\n')).toEqual(['Invalid configuration: PORT must be a whole number, got "eighty"']);
  });

  it('finishes an in-flight request on SIGTERM, then exits 0', async () => {
    const port = await freePort();
    // LOG_LEVEL info: the server says when its shutdown begins.
    const server = run('src/server.ts', { DATA_DIR: tempDir(), PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' });
    await waitForHealth(port);

    // A request whose body is still arriving when the signal comes.
    const body = JSON.stringify({ sku: 'INFLIGHT-1', name: 'in flight' });
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk));
    socket.write(
      `POST /api/products HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nexpect: 100-continue\r\nconnection: close\r\n\r\n${body.slice(0, 10)}`,
    );
    // 100 Continue: the server has read the head, so the request is in flight there.
    await vi.waitFor(() => expect(answer).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n/), { timeout: 10_000, interval: 10 });
    const signalledAt = Date.now();
    server.child.kill('SIGTERM');
    // The rest of the body only once the shutdown has begun (it logs as it starts closing).
    await vi.waitFor(() => expect(server.output().stdout).toContain('SIGTERM received, shutting down'), { timeout: 10_000, interval: 10 });
    socket.write(body.slice(10));
    await new Promise((resolve) => socket.once('close', resolve));
    expect(answer).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 201/);

    expect(await server.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(10_000);
  });
});

describe('npm run migrate', () => {
  it('applies the migrations to a fresh database, then finds nothing to do', async () => {
    const env = { DATA_DIR: tempDir() };
    const first = run('src/migrate.ts', env);
    expect(await first.exited).toBe(0);
    expect(first.output().stdout).toMatch(/Success: 0001_create_products/);
    const second = run('src/migrate.ts', env);
    expect(await second.exited).toBe(0);
    expect(second.output().stdout).toContain('Database is up to date.');
  });
});

describe.skipIf(!(await redisAvailable()))('npm run worker', () => {
  it('serves /healthz, /readyz and /metrics (the token required) on WORKER_HTTP_PORT, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const prefix = `pi-test-worker-${process.pid}-${port}`;
    const worker = run('src/worker.ts', {
      DATA_DIR: tempDir(),
      REDIS_URL,
      REDIS_PREFIX: prefix,
      WORKER_HTTP_PORT: String(port),
      HOST: '127.0.0.1',
      API_TOKEN: 'worker-token',
    });
    expect(await worker.printed(/^worker ready/)).toContain(`http://127.0.0.1:${port}`);
    const url = `http://127.0.0.1:${port}`;
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { database: 'ok', redis: 'ok' } });
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    const metrics = await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer worker-token' } });
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toMatch(/^job_queue_jobs\{state="waiting"\} 0$/m);
    expect(text).toContain('job_run_duration_seconds');
    expect(text).toContain('webhook_delivery_lag_seconds');
    expect(text).toContain('process_resident_memory_bytes');

    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('refuses to start without REDIS_URL', async () => {
    const worker = run('src/worker.ts', { DATA_DIR: tempDir(), REDIS_URL: '' });
    expect(await worker.exited).toBe(78);
    expect(worker.output().stderr).toContain('npm run worker needs REDIS_URL');
  });
});
