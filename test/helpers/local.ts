import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { runCli } from './cli';
import type { CliResult } from './cli';
import { startLocalServer, type LocalServer, type LocalServerOptions } from '../../src/node/local';

/** Plain HTTP calls to the local server with global fetch (deliberately not the SkahaClient). */
export class LocalApi {
  constructor(
    readonly server: LocalServer,
    private readonly token: string = server.token,
  ) {}

  async call(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    form?: Record<string, string | string[]>,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; type: string | null; body: string; headers: Headers }> {
    let body: string | undefined;
    if (form) {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(form))
        for (const v of Array.isArray(value) ? value : [value]) params.append(key, v);
      body = params.toString();
    }
    const res = await fetch(`${this.server.apiUrl}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${this.token}`,
        ...(body !== undefined ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}),
        ...headers,
      },
      body,
    });
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      body: await res.text(),
      headers: res.headers,
    };
  }

  async create(form: Record<string, string | string[]>): Promise<string> {
    const res = await this.call('POST', '/session', form);
    if (res.status !== 200) throw new Error(`create answered ${res.status}: ${res.body}`);
    return res.body.trim();
  }

  async session(id: string): Promise<Record<string, unknown> & { status: string }> {
    const res = await this.call('GET', `/session/${id}`);
    if (res.status !== 200) throw new Error(`GET /session/${id} answered ${res.status}: ${res.body}`);
    return JSON.parse(res.body);
  }

  async list(
    query = '',
  ): Promise<(Record<string, unknown> & { id: string; status: string; name: string })[]> {
    const res = await this.call('GET', `/session${query}`);
    if (res.status !== 200) throw new Error(`GET /session${query} answered ${res.status}: ${res.body}`);
    return JSON.parse(res.body);
  }

  async logs(id: string): Promise<string> {
    return (await this.call('GET', `/session/${id}?view=logs`)).body;
  }

  async events(id: string): Promise<string> {
    return (await this.call('GET', `/session/${id}?view=events`)).body;
  }

  /** Polls the session until its status is one of `statuses`. */
  async waitStatus(
    id: string,
    statuses: string[],
    timeoutMs = 15_000,
  ): Promise<Record<string, unknown> & { status: string }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const session = await this.session(id);
      if (statuses.includes(session.status)) return session;
      if (Date.now() > deadline)
        throw new Error(
          `session ${id} still ${session.status} after ${timeoutMs} ms, wanted ${statuses.join('|')}`,
        );
      await sleep(50);
    }
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A server on a fresh temporary state dir and home; `dispose` closes it and removes both. */
export async function startTestServer(options: LocalServerOptions = {}): Promise<{
  server: LocalServer;
  api: LocalApi;
  home: string;
  dispose: () => Promise<void>;
}> {
  const root = mkdtempSync(join(tmpdir(), 'canfar-local-'));
  const home = join(root, 'home');
  mkdirSync(home);
  const server = await startLocalServer({
    stateDir: join(root, 'state'),
    home,
    cores: 2,
    ramGB: 16,
    ttlSeconds: 600,
    killGraceSeconds: 1,
    ...options,
  });
  return {
    server,
    api: new LocalApi(server),
    home,
    dispose: async () => {
      await server.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export const IMAGE = 'images.canfar.net/skaha/terminal:1.1.2';

/** What the CLI's end-to-end suites share: a local server, a work folder, the CLI's environment and globals. */
export interface CliSuite {
  server: Awaited<ReturnType<typeof startTestServer>>;
  /** A temporary folder of the suite's notebooks and batches, removed after it. */
  work: string;
  /** The CLI's environment: PATH and the server's home (its credentials), nothing of the caller's. */
  env: NodeJS.ProcessEnv;
  /** `--url` and `--token` of the server. */
  globals: string[];
  /** Runs `canfar-lab` with the suite's globals and environment. */
  cli(argv: string[]): Promise<CliResult>;
  /** `cli(argv)` followed to the end of the batch (`--follow`), polling every 0.2 s. */
  follow(argv: string[]): Promise<CliResult>;
}

/**
 * Starts a local server before the tests of the enclosing `describe` and stops it after them (with the
 * work folder); the returned object is filled in by then.
 */
export function cliSuite(prefix: string, options: LocalServerOptions = {}): CliSuite {
  const cli = (argv: string[]) => runCli([...suite.globals, ...argv], suite.env);
  const suite = {
    cli,
    follow: (argv: string[]) => cli([...argv, '--follow', '--interval', '0.2']),
  } as CliSuite;
  beforeAll(async () => {
    suite.server = await startTestServer(options);
    suite.work = mkdtempSync(join(tmpdir(), prefix));
    suite.env = { PATH: process.env.PATH, HOME: suite.server.home };
    suite.globals = ['--url', suite.server.server.url, '--token', suite.server.server.token];
  });
  afterAll(async () => {
    await suite.server?.dispose();
    if (suite.work) rmSync(suite.work, { recursive: true, force: true });
  });
  return suite;
}
