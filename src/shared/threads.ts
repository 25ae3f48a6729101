import { Worker, type ResourceLimits } from 'node:worker_threads';

/**
 * A thread module in TypeScript (running from source: tsx, vitest) starts through an entry that
 * registers tsx first, since threads do not inherit the loader; compiled ones (dist/) directly.
 */
const TYPESCRIPT_ENTRY = new URL('./thread-entry.mjs', import.meta.url);

/** Starts a worker thread running `module`, compiled or not. */
export function startThread(module: URL, options: { workerData: object; resourceLimits?: ResourceLimits }): Worker {
  const fromSource = module.pathname.endsWith('.ts');
  return new Worker(fromSource ? TYPESCRIPT_ENTRY : module, {
    workerData: { ...options.workerData, ...(fromSource ? { threadModule: module.href } : {}) },
    ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
  });
}

/** The module `name` beside the module at `moduleUrl`, compiled (.js) or not (.ts) as that one is. */
export function threadModule(moduleUrl: string, name: string): URL {
  return new URL(`./${name}${moduleUrl.endsWith('.js') ? '.js' : '.ts'}`, moduleUrl);
}
