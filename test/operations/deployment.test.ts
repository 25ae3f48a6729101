import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { freePort } from '../support/ports.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

// Docker cannot run in CI here, so this checks what can be checked without it: the compose file
// parses and holds together, every variable it gives the app is one the app reads (and loads),
// the Dockerfile builds and runs what `npm start` and CI build and run, and its health checks
// really answer from a running server.

const root = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');
const packageScripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string | number>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  deploy?: { replicas?: number };
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const appServices = Object.entries(compose.services).filter(([, service]) => service.build !== undefined);

/** The variables of a KEY=value file (comments and blank lines left out). */
function envFile(text: string): Record<string, string> {
  const entries = text
    .split('\n')
    .filter((line) => /^[A-Z_][A-Z0-9_]*=/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]);
  return Object.fromEntries(entries);
}
const envExample = envFile(read('.env.example'));

/** Compose's interpolation of `${NAME}`, `${NAME:-default}` and `${NAME:?error}` from `env` (`$$` is a `$`). */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\{([A-Z_][A-Z0-9_]*)(?::([-?])([^}]*))?\}/g, (match, name?: string, kind?: string, word?: string) => {
    if (match === '$$') return '$';
    const given = env[name!];
    if (given) return given;
    if (kind === '?') throw new Error(`compose would stop: ${word}`);
    return kind === '-' ? word! : '';
  });
}

/** The environment an app container starts with: the image's ENV, then the service's, interpolated from .env.example. */
function containerEnv(service: Service): Record<string, string> {
  const fromService = Object.entries(service.environment ?? {}).map(([name, value]) => [name, interpolate(String(value), envExample)]);
  return { ...dockerfile.env, ...Object.fromEntries(fromService) };
}

/** The variables config.ts reads: every upper-case name it quotes. */
const configVariables = new Set([...read('src/config.ts').matchAll(/'([A-Z][A-Z0-9_]+)'/g)].map((match) => match[1]!));

/** The Dockerfile's stages with their instructions (continuation lines joined). */
function parseDockerfile(text: string) {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
  const args = Object.fromEntries(lines.filter((line) => line.startsWith('ARG ')).map((line) => line.slice(4).split('=') as [string, string]));
  const stages: { name: string; from: string; instructions: string[] }[] = [];
  for (const line of lines) {
    const from = /^FROM (\S+) AS (\S+)$/i.exec(line);
    if (from) stages.push({ name: from[2]!, from: from[1]!.replace(/^\$\{(\w+)\}$/, (_, arg: string) => args[arg] ?? ''), instructions: [] });
    else stages.at(-1)?.instructions.push(line);
  }
  const final = stages.at(-1)!;
  const env: Record<string, string> = {};
  for (const line of final.instructions.filter((instruction) => instruction.startsWith('ENV '))) {
    for (const [, name, value] of line.slice(4).matchAll(/([A-Z_]+)=(\S+)/g)) env[name!] = value!;
  }
  const json = (prefix: string) => JSON.parse(final.instructions.find((line) => line.startsWith(prefix))!.slice(prefix.length).replace(/^.*?CMD /, '')) as string[];
  return { stages, final, env, cmd: json('CMD '), healthcheck: json('HEALTHCHECK ') };
}
const dockerfile = parseDockerfile(read('Dockerfile'));

/** The node command an npm script runs after its build step, e.g. "node dist/worker.js". */
const nodeCommandOf = (script: string) => packageScripts[script]!.split('&&').at(-1)!.trim();

describe('docker-compose.yml', () => {
  it('has postgres, redis, a one-shot migrate, the api and two workers, and names only volumes it declares', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'migrate', 'postgres', 'redis', 'worker']);
    expect(appServices.map(([name]) => name).sort()).toEqual(['api', 'migrate', 'worker']);
    expect(compose.services.worker!.deploy?.replicas).toBe(2);
    expect(compose.services.migrate!.command).toEqual(nodeCommandOf('migrate').split(' '));
    expect(compose.services.worker!.command).toEqual(nodeCommandOf('worker').split(' '));
    expect(compose.services.api!.command).toBeUndefined(); // the image's CMD: the API
    for (const [name, service] of Object.entries(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        expect(Object.keys(compose.volumes), `${name} mounts ${source}`).toContain(source);
      }
    }
  });

  it("sets PostgreSQL's buffer pool from POSTGRES_SHARED_BUFFERS, PostgreSQL's own 128MB when unset", () => {
    const command = compose.services.postgres!.command!;
    expect(command.map((part) => interpolate(part, {}))).toEqual(['postgres', '-c', 'shared_buffers=128MB']);
    expect(command.map((part) => interpolate(part, { POSTGRES_SHARED_BUFFERS: '1GB' }))).toEqual(['postgres', '-c', 'shared_buffers=1GB']);
  });

  it('gives the api and every worker the same uploads volume, where UPLOAD_DIR points', () => {
    for (const name of ['api', 'worker']) {
      const service = compose.services[name]!;
      expect(service.volumes, name).toContain(`uploads:${containerEnv(service).UPLOAD_DIR}`);
    }
  });

  it('starts the api and the workers after the database, Redis and the migrations', () => {
    for (const name of ['api', 'worker']) {
      expect(compose.services[name]!.depends_on).toEqual({
        postgres: { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
        migrate: { condition: 'service_completed_successfully' },
      });
    }
    expect(compose.services.migrate!.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        if (condition === 'service_healthy') expect(compose.services[dependency]!.healthcheck, `${name} waits for ${dependency}'s health`).toBeDefined();
      }
    }
  });

  it("sets only variables the app reads, and they load into scaled mode's configuration", () => {
    // NODE_ENV is read by libraries, not by config.ts.
    const ours = (env: Record<string, string>) => Object.keys(env).filter((name) => name !== 'NODE_ENV');
    for (const [name, service] of appServices) {
      const env = containerEnv(service);
      for (const variable of ours(env)) expect(configVariables, `${name} sets ${variable}`).toContain(variable);
      const config = loadConfig(env);
      expect(config.database.dialect, name).toBe('postgres');
      expect(config.redisUrl, name).toBe('redis://redis:6379');
    }
    expect(loadConfig(containerEnv(compose.services.worker!)).workerHttpPort).toBe(8001);
    for (const variable of ours(dockerfile.env)) expect(configVariables).toContain(variable);
  });

  it('.env.example holds only variables the app reads or compose interpolates', () => {
    const interpolated = new Set([...read('docker-compose.yml').matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((match) => match[1]!));
    const commentedOut = [...read('.env.example').matchAll(/^# ([A-Z_][A-Z0-9_]*)=/gm)].map((match) => match[1]!);
    for (const variable of [...Object.keys(envExample), ...commentedOut]) {
      expect(configVariables.has(variable) || interpolated.has(variable), variable).toBe(true);
    }
  });
});

describe('Dockerfile', () => {
  it('builds on Node 24 what `npm start` and CI build, and keeps only production dependencies', () => {
    expect(dockerfile.stages.map((stage) => stage.name)).toEqual(['toolchain', 'build', 'deps', 'runtime']);
    for (const stage of dockerfile.stages) expect(stage.from, stage.name).toMatch(/^(node:24-|toolchain$)/);
    const build = dockerfile.stages.find((stage) => stage.name === 'build')!;
    expect(build.instructions).toContain('RUN npm ci --no-audit --no-fund');
    expect(build.instructions.at(-1)).toBe('RUN npm run build');
    expect(packageScripts.start).toMatch(/^npm run build --silent && /);
    expect(dockerfile.stages.find((stage) => stage.name === 'deps')!.instructions.join('\n')).toContain('npm ci --omit=dev');
    // What the build writes (tsc's outDir, Vite's) is what the runtime stage takes.
    expect(read('tsconfig.build.json')).toMatch(/"outDir": "dist"/);
    expect(read('web/vite.config.ts')).toMatch(/outDir: 'dist'/);
    expect(dockerfile.final.instructions).toEqual(
      expect.arrayContaining([
        'COPY --from=deps /app/node_modules ./node_modules',
        'COPY --from=build /app/dist ./dist',
        'COPY --from=build /app/web/dist ./web/dist',
      ]),
    );
  });

  it('runs the API as `npm start` does, as a user other than root', () => {
    expect(dockerfile.cmd.join(' ')).toBe(nodeCommandOf('start'));
    const user = dockerfile.final.instructions.find((line) => line.startsWith('USER '));
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER (root|0)(:|$)/);
  });

  it('copies only sources that exist and that .dockerignore lets in', () => {
    const ignored = read('.dockerignore').split('\n').filter((line) => line && !line.startsWith('#') && !line.startsWith('!'));
    const copies = dockerfile.stages.flatMap((stage) => stage.instructions).filter((line) => /^COPY (?!--from)/.test(line));
    for (const copy of copies) {
      for (const source of copy.split(/\s+/).slice(1, -1)) {
        expect(fs.existsSync(path.join(root, source)), source).toBe(true);
        expect(ignored, source).not.toContain(source);
      }
    }
    for (const built of ['node_modules', 'dist', 'web/dist', 'data', '.env']) expect(ignored).toContain(built);
  });
});

describe('the health checks of the image and of the workers', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await startTestApp('sqlite');
    port = await freePort();
    await t.app.listen({ port, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await t?.close();
  });

  const run = async (command: string[], env: Record<string, string>) => {
    try {
      await promisify(execFile)(command[0] === 'CMD' ? command[1]! : command[0]!, command.slice(command[0] === 'CMD' ? 2 : 1), {
        env: { ...process.env, ...env },
        timeout: 10_000,
      });
      return 0;
    } catch (error) {
      return (error as { code?: number }).code ?? -1;
    }
  };

  it('pass against a running server, fail against a port where none listens', async () => {
    const closedPort = String(await freePort());
    expect(dockerfile.healthcheck.join(' ')).toContain('/healthz');
    expect(await run(dockerfile.healthcheck, { PORT: String(port) })).toBe(0);
    expect(await run(dockerfile.healthcheck, { PORT: closedPort })).toBe(1);
    const workerCheck = compose.services.worker!.healthcheck!.test;
    expect(await run(workerCheck, { WORKER_HTTP_PORT: String(port) })).toBe(0);
    expect(await run(workerCheck, { WORKER_HTTP_PORT: closedPort })).toBe(1);
  });
});
