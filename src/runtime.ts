import type { Config } from './config.js';
import { createDatabase, type Database } from './db/database.js';
import { migrateToLatest } from './db/migrator.js';
import { Registry } from 'prom-client';
import { jobKinds, openJobThreads } from './job-kinds.js';
import type { ProgressBus } from './jobs/jobs.progress-bus.js';
import type { JobQueue } from './jobs/jobs.queue.js';
import { registerJobQueueMetrics } from './jobs/jobs.queue.metrics.js';
import { anyJobRunning, jobRetentionTasks } from './jobs/jobs.retention.js';
import { createThreadJobRunner, resumeUnfinishedJobs } from './jobs/jobs.runner.js';
import { selectMode } from './mode/mode.js';
import { registerOutboxMetrics } from './outbox/outbox.metrics.js';
import type { OutboxSignal } from './outbox/outbox.signal.js';
import type { ReadinessCheck } from './shared/readiness.js';
import { startRetention, type RetentionTask } from './shared/retention.js';
import { startSearchIndexer, type SearchIndexer } from './search/search.indexer.js';
import { closeInOrder, once, type Closable } from './shared/shutdown.js';
import { startWebhookDispatcher } from './webhooks/webhooks.dispatcher.js';
import { registerWebhookDeliveryMetrics } from './webhooks/webhooks.metrics.js';
import { webhookRetentionTasks } from './webhooks/webhooks.retention.js';
import type { HostResolver } from './webhooks/webhooks.ssrf.js';

/**
 * The long-lived components of one process, opened from configuration and
 * closed in order after the HTTP server: workers, queue, database.
 */
export interface Runtime {
  config: Config;
  database: Database;
  jobQueue: JobQueue;
  progressBus: ProgressBus;
  /** Wakes the webhook dispatchers (this process's; every process's in scaled mode) when outbox events were committed (pass it to buildApp). */
  outboxSignal: OutboxSignal;
  /** /readyz checks besides the database: Redis in scaled mode. */
  readinessChecks: ReadinessCheck[];
  /** Metrics of the queue, the job runs and the webhook backlog, for whichever app serves /metrics. */
  metrics: Registry;
  /** The background search indexer, in processes that run jobs (null elsewhere). */
  searchIndexer: SearchIndexer | null;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /**
   * Whether this process runs jobs (in worker threads). Default: the mode's answer (embedded:
   * yes; scaled: no, only `npm run worker` processes do, which pass true).
   */
  runJobs?: boolean;
  /** A job run or background task that failed unexpectedly (default: onCloseError). */
  onBackgroundError?: (name: string, error: unknown) => void;
  /** A job run ended: where its time went, in milliseconds per phase (server.ts logs it at info). */
  onJobPhases?: (jobId: string, phases: Record<string, number>) => void;
  /** Whether this process delivers webhooks (default yes; any number of processes may). */
  runWebhookDispatcher?: boolean;
  /** Resolves webhook hosts for the SSRF guard (tests answer without DNS); default the system resolver. */
  resolveHost?: HostResolver;
}

/** What the retention task of a process deletes: each feature's prunes, registered here. */
export function retentionTasksOf(config: Config, database: Database): RetentionTask[] {
  return [
    ...jobRetentionTasks(database, {
      jobsDays: config.retention.jobsDays,
      uploadDir: config.uploadDir,
      uploadRetentionHours: config.uploadRetentionHours,
      keptUploads: { maxFiles: config.uploadMaxKeptFiles, maxBytes: config.uploadMaxKeptBytes },
    }),
    ...webhookRetentionTasks(database.db, config.retention),
  ];
}

export async function openRuntime(
  config: Config,
  onCloseError: (name: string, error: unknown) => void = () => undefined,
  options: RuntimeOptions = {},
): Promise<Runtime> {
  // The API reads through a memory map while no job writes (DatabaseOptions.mapReads).
  const database = createDatabase(config.database, { mapReads: true });
  const mode = await migrateToLatest(database.db)
    .then(() => selectMode(config).open({ runJobs: options.runJobs }))
    .catch(async (error: unknown) => {
      await database.close();
      throw error;
    });
  const onBackgroundError = options.onBackgroundError ?? onCloseError;
  const { jobQueue, progressBus, outboxSignal, readinessChecks } = mode;
  const metrics = new Registry();
  const jobMetrics = registerJobQueueMetrics(metrics, jobQueue);
  registerOutboxMetrics(metrics, database.db);
  registerWebhookDeliveryMetrics(metrics, database.db);
  const workers: Closable[] = [];
  let searchIndexer: SearchIndexer | null = null;
  // Workers first (filled below), then the mode's queue and connections, then the database.
  const close = once(() => closeInOrder([...workers, ...mode.closables, { name: 'database', close: () => database.close() }], onCloseError));
  try {
    if (mode.runsJobs) {
      const runner = createThreadJobRunner(database, {
        kinds: jobKinds,
        threads: openJobThreads(config.database, config.importMemoryMb),
        progress: progressBus,
        outboxSignal,
        onConnectionLoss: (jobId, message, inARow) =>
          onBackgroundError(`job ${jobId} lost its database connection (${inARow} in a row since its last batch); it goes on from its checkpoint once the database answers`, new Error(message)),
        onPhases: options.onJobPhases,
      });
      const run: typeof runner.run = (jobId, signal) => database.whileBulkWriting(() => runner.run(jobId, signal));
      const consumer = jobQueue.consume(jobMetrics.timed(run), {
        onError: (jobId, error) => onBackgroundError(`job ${jobId}`, error),
        onStalled: jobMetrics.countStall,
      });
      workers.push({ name: 'job workers', close: () => consumer.close() }, { name: 'job threads', close: () => runner.close() });
      if (config.searchIndexer) {
        const indexer = startSearchIndexer({
          database,
          jobRunning: () => anyJobRunning(database),
          onError: (error) => onBackgroundError('search indexer', error),
        });
        searchIndexer = indexer;
        workers.push({ name: 'search indexer', close: () => indexer.close() });
      }
      await resumeUnfinishedJobs(database, jobQueue);
    }
    workers.push(
      startRetention(retentionTasksOf(config, database), {
        intervalMs: config.retention.intervalMs,
        holdOff: () => anyJobRunning(database),
        onError: (task, error) => onBackgroundError(`retention of ${task}`, error),
      }),
    );
    if (options.runWebhookDispatcher ?? true) {
      const dispatcher = startWebhookDispatcher({
        database,
        config: config.webhooks,
        signal: outboxSignal,
        resolveHost: options.resolveHost,
        onError: (message, error) => onBackgroundError(`webhook dispatcher: ${message}`, error),
      });
      workers.push({ name: 'webhook dispatcher', close: () => dispatcher.close() });
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { config, database, jobQueue, progressBus, outboxSignal, readinessChecks, metrics, searchIndexer, close };
}
