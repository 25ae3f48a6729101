// Scaled-mode runs of `npm run bench:import` (BENCH_MODES=scaled): the same 500k-row file
// imported through an API node with 1 and with 2 `npm run worker` processes (BullMQ on
// Redis), then two different files of that size submitted at once; embedded-PostgreSQL
// mode (the API node runs the jobs) is measured the same way beside them. Each run samples
// what bounds it: the machine's CPU and I/O wait (/proc/stat), the CPU of our processes and
// of the run's PostgreSQL backends (/proc/<pid>/stat), and what those backends wait on
// (pg_stat_activity, every 200 ms). The search indexer is off in every run, so the figures
// are the jobs' own.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { request } from 'undici';
import { databaseUrl, withPostgres } from './bench-postgres.js';
import type { CatalogFile } from './import.data.js';
import { freePort } from '../test/support/ports.js';

export interface ScaledBenchOptions {
  root: string;
  postgresUrl: string;
  redisUrl: string;
  /** Two different files of the same size: the first is imported alone, then both at once. */
  files: [CatalogFile, CatalogFile];
}

interface Setup {
  label: string;
  /** 0 = embedded mode: the API node runs the jobs (no Redis). */
  workers: number;
}

interface RunFigures {
  setup: string;
  files: number;
  rows: number;
  seconds: number;
  status: string;
  usage: Usage;
}

interface Usage {
  /** Share of the machine's CPU time busy, and waiting on I/O (all cores together). */
  machineBusy: number;
  machineIowait: number;
  /** CPU seconds per wall second (1 = one core) of our API and worker processes, and of this run's PostgreSQL backends. */
  appCores: number;
  postgresCores: number;
  /** Of the samples of this run's PostgreSQL backends that were not idle: on CPU, waiting on I/O, on locks (Lock, LWLock), on the client, other. */
  waits: Record<'cpu' | 'io' | 'lock' | 'client' | 'other', number>;
  activeBackends: number;
}

const CLOCK_TICKS_PER_SECOND = 100; // Linux USER_HZ
const SETUPS: Setup[] = [
  { label: 'embedded PostgreSQL (API runs the job)', workers: 0 },
  { label: 'scaled: API + 1 worker', workers: 1 },
  { label: 'scaled: API + 2 workers', workers: 2 },
];

/** utime + stime of a process (all its threads), in clock ticks; 0 once it is gone. */
function cpuTicks(pid: number): number {
  try {
    // Fields after the command (which may hold spaces) start at field 3; utime and stime are fields 14 and 15.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** The machine's CPU counters: all time, and its idle and iowait parts (clock ticks). */
function machineTicks(): { total: number; idle: number; iowait: number } {
  const [, ...values] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const ticks = values.map(Number);
  return { total: ticks.reduce((sum, value) => sum + value, 0), idle: ticks[3]!, iowait: ticks[4]! };
}

function waitBucket(row: { state: string | null; wait_event_type: string | null }): keyof Usage['waits'] | null {
  if (row.state === 'idle') return null;
  if (row.wait_event_type === null) return 'cpu';
  if (row.wait_event_type === 'IO') return 'io';
  if (row.wait_event_type === 'Lock' || row.wait_event_type === 'LWLock') return 'lock';
  if (row.wait_event_type === 'Client') return 'client';
  return 'other';
}

/** Samples usage from now until stop(). */
function sampleUsage(postgresUrl: string, database: string, appPids: number[]): { stop(): Promise<Usage> } {
  const startedAt = performance.now();
  const machineStart = machineTicks();
  const appStart = appPids.map(cpuTicks);
  const backendTicks = new Map<number, { first: number; last: number }>();
  const waits: Usage['waits'] = { cpu: 0, io: 0, lock: 0, client: 0, other: 0 };
  let samples = 0;
  let running = true;
  const sampling = (async () => {
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    try {
      while (running) {
        const { rows } = await client.query<{ pid: number; state: string | null; wait_event_type: string | null }>(
          'select pid, state, wait_event_type from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
          [database],
        );
        samples++;
        for (const row of rows) {
          const ticks = cpuTicks(row.pid);
          const known = backendTicks.get(row.pid);
          // A backend first seen at the first sample may have worked before the run: count from there.
          if (known) known.last = Math.max(known.last, ticks);
          else backendTicks.set(row.pid, { first: samples === 1 ? ticks : 0, last: ticks });
          const bucket = waitBucket(row);
          if (bucket) waits[bucket]++;
        }
        await sleep(200);
      }
    } finally {
      await client.end();
    }
  })();
  return {
    async stop() {
      running = false;
      await sampling;
      const wallSeconds = (performance.now() - startedAt) / 1000;
      const machineEnd = machineTicks();
      const total = machineEnd.total - machineStart.total;
      const appTicks = appPids.reduce((sum, pid, index) => sum + Math.max(0, cpuTicks(pid) - appStart[index]!), 0);
      const postgresTicks = [...backendTicks.values()].reduce((sum, { first, last }) => sum + (last - first), 0);
      const busySamples = Object.values(waits).reduce((sum, count) => sum + count, 0);
      const share = (count: number) => (busySamples > 0 ? count / busySamples : 0);
      return {
        machineBusy: 1 - (machineEnd.idle - machineStart.idle + machineEnd.iowait - machineStart.iowait) / total,
        machineIowait: (machineEnd.iowait - machineStart.iowait) / total,
        appCores: appTicks / CLOCK_TICKS_PER_SECOND / wallSeconds,
        postgresCores: postgresTicks / CLOCK_TICKS_PER_SECOND / wallSeconds,
        waits: { cpu: share(waits.cpu), io: share(waits.io), lock: share(waits.lock), client: share(waits.client), other: share(waits.other) },
        activeBackends: samples > 0 ? busySamples / samples : 0,
      };
    },
  };
}

interface Processes {
  base: string;
  pids: number[];
  stop(): Promise<void>;
}

/** A compiled entry point as `npm start` / `npm run worker` run it; resolves once it printed `ready`. */
function startEntry(root: string, entry: string, env: Record<string, string>, ready: RegExp): Promise<ChildProcess> {
  const child = spawn(process.execPath, [entry], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`${entry} exited with ${code}: ${output}`)));
  });
}

async function startProcesses(root: string, env: Record<string, string>, workers: number): Promise<Processes> {
  const port = await freePort();
  // LOG_LEVEL info: the server logs "Server listening"; workers print "worker ready".
  const api = await startEntry(root, 'dist/server.js', { ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' }, /Server listening/);
  const children = [api];
  for (let index = 0; index < workers; index++) children.push(await startEntry(root, 'dist/worker.js', { ...env, LOG_LEVEL: 'warn' }, /worker ready/));
  return {
    base: `http://127.0.0.1:${port}`,
    pids: children.map((child) => child.pid as number),
    async stop() {
      await Promise.all(
        children.map((child) => {
          if (child.exitCode !== null) return undefined;
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          return exited;
        }),
      );
    },
  };
}

interface JobState {
  status: string;
  created_at: string;
  finished_at: string | null;
  rows_processed: number;
  inserted: number;
  error: string | null;
}

async function uploadFile(base: string, file: CatalogFile): Promise<string> {
  const response = await request(`${base}/api/upload?filename=${encodeURIComponent(path.basename(file.file))}`, {
    method: 'POST',
    headers: { 'content-type': 'text/csv' },
    body: fs.createReadStream(file.file),
  });
  const accepted = (await response.body.json()) as { job_id?: string };
  if (response.statusCode !== 202 || !accepted.job_id) throw new Error(`upload answered ${response.statusCode}: ${JSON.stringify(accepted)}`);
  return accepted.job_id;
}

async function waitUntilFinished(base: string, jobId: string): Promise<JobState> {
  for (;;) {
    const response = await request(`${base}/api/jobs/${jobId}`);
    const job = (await response.body.json()) as JobState;
    if (job.finished_at) return job;
    await sleep(250);
  }
}

/** Imports `files` at once on a fresh database through `setup`; the time is the jobs' own, from the first accepted upload to the last finish. */
async function measure(options: ScaledBenchOptions, setup: Setup, files: CatalogFile[]): Promise<RunFigures> {
  const database = `pi_bench_${randomBytes(4).toString('hex')}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'import-bench-scaled-'));
  await withPostgres(options.postgresUrl, (client) => client.query(`create database ${database}`));
  const env: Record<string, string> = { DATA_DIR: dataDir, DATABASE_URL: databaseUrl(options.postgresUrl, database), SEARCH_INDEXER: 'false' };
  if (setup.workers > 0) Object.assign(env, { REDIS_URL: options.redisUrl, REDIS_PREFIX: database });
  const processes = await startProcesses(options.root, env, setup.workers);
  try {
    const usage = sampleUsage(options.postgresUrl, database, processes.pids);
    const jobIds = await Promise.all(files.map((file) => uploadFile(processes.base, file)));
    const jobs = await Promise.all(jobIds.map((jobId) => waitUntilFinished(processes.base, jobId)));
    const figures = await usage.stop();
    const started = Math.min(...jobs.map((job) => Date.parse(job.created_at)));
    const finished = Math.max(...jobs.map((job) => Date.parse(job.finished_at as string)));
    return {
      setup: setup.label,
      files: files.length,
      rows: files.reduce((sum, file) => sum + file.rows, 0),
      seconds: (finished - started) / 1000,
      status: jobs.map((job) => `${job.status} (${job.rows_processed} rows, ${job.inserted} inserted${job.error ? `, ${job.error}` : ''})`).join('; '),
      usage: figures,
    };
  } finally {
    await processes.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    await withPostgres(options.postgresUrl, (client) => client.query(`drop database if exists ${database}`));
  }
}

const percent = (share: number) => `${Math.round(share * 100)} %`;

/** Runs every setup on one file, then on both at once, and prints a table. */
export async function runScaledImports(options: ScaledBenchOptions): Promise<void> {
  const runs: RunFigures[] = [];
  const loadAtStart = os.loadavg();
  for (const setup of SETUPS) {
    runs.push(await measure(options, setup, [options.files[0]]));
    runs.push(await measure(options, setup, options.files));
  }
  const loadAtEnd = os.loadavg();
  console.log(
    `\nScaled mode — ${os.cpus().length} CPUs; load average at start ${loadAtStart.map((load) => load.toFixed(2)).join(' ')}, at end ${loadAtEnd.map((load) => load.toFixed(2)).join(' ')}; search indexer off`,
  );
  console.log(
    '| setup | files | rows | seconds (first accepted -> last finished) | rows/s | machine CPU busy / iowait | our processes (cores) | PostgreSQL backends (cores) | backends not idle: on CPU / IO / Lock+LWLock / client / other (avg active) | status |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |');
  for (const run of runs) {
    const { usage } = run;
    const waits = `${percent(usage.waits.cpu)} / ${percent(usage.waits.io)} / ${percent(usage.waits.lock)} / ${percent(usage.waits.client)} / ${percent(usage.waits.other)} (${usage.activeBackends.toFixed(1)})`;
    console.log(
      `| ${run.setup} | ${run.files} | ${run.rows} | ${run.seconds.toFixed(2)} | ${Math.round(run.rows / run.seconds)} | ${percent(usage.machineBusy)} / ${percent(usage.machineIowait)} | ${usage.appCores.toFixed(2)} | ${usage.postgresCores.toFixed(2)} | ${waits} | ${run.status} |`,
    );
  }
}
