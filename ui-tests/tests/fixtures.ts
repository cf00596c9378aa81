// Playwright fixtures: every test gets its own Jupyter server (ui-tests/app/main.py in --test mode)
// on a free port, with a fresh notebook directory and a fresh state directory for the local Skaha
// server, and a JupyterLab page object on it. The server is stopped by its PID after the test,
// and so is the local Skaha server it may have started.
//
// Or, with CANFAR_UI_SERVER_URL set, the tests run against a JupyterLab that is already running (e.g.
// the real `jupyter lab` of Debian trixie, scripts/test-trixie.sh): CANFAR_UI_SERVER_TOKEN is its token,
// CANFAR_UI_SERVER_ROOT the host path of its root directory (what tests read batch folders from) and
// CANFAR_UI_SERVER_LOG its log. Whoever started it stops it; the tests then share it, one after another.
import { test as base, expect } from '@playwright/test';
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { JupyterLabPage } from './jupyterlab';

export const REPO = resolve(__dirname, '../..');
const MAIN = join(REPO, 'ui-tests/app/main.py');
const PYTHON = process.env.CANFAR_TEST_PYTHON || '/usr/bin/python3';

export interface JupyterServer {
  /** http://127.0.0.1:PORT (no trailing slash). */
  url: string;
  /** The token a browser logs in with, if the server asks for one. */
  token?: string;
  /** The notebook directory (server root): what the file browser shows. */
  rootDir: string;
  /** Settings, workspaces and runtime files of this server. */
  stateDir: string;
  /** State directory of the local Skaha server the server half starts on first use. */
  localStateDir: string;
  /** Everything the server printed. */
  logFile: string;
  pid: number;
  /** The temporary directory holding rootDir, stateDir and localStateDir. */
  baseDir: string;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) resolveExit();
    else child.once('exit', () => resolveExit());
  });
}

async function waitForServer(url: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(
        `Jupyter server exited with code ${child.exitCode} before listening:\n${readFileSync(logFile, 'utf8')}`,
      );
    }
    try {
      const response = await fetch(`${url}/api`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Jupyter server did not answer ${url}/api within 60 s:\n${readFileSync(logFile, 'utf8')}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** What the local Skaha server may hand out at once (default: the fixture's 2 cores). */
export interface LocalCapacity {
  cores: number;
  /** GB; a flexible session reserves 4 GiB. */
  ram: number;
}

async function startJupyter(
  outputDir: string,
  extraEnv: Record<string, string> = {},
): Promise<{ server: JupyterServer; child: ChildProcess }> {
  const base = mkdtempSync(join(tmpdir(), 'canfar-ui-'));
  const rootDir = join(base, 'root');
  const stateDir = join(base, 'state');
  const localStateDir = join(base, 'local-server');
  mkdirSync(rootDir);
  mkdirSync(outputDir, { recursive: true });
  const logFile = join(outputDir, 'jupyter-server.log');
  // A port is free when we look and may be taken a moment later: try a few.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const log = createWriteStream(logFile, { flags: 'a' });
    const child = spawn(
      PYTHON,
      [
        MAIN,
        '--test',
        '--root-dir',
        rootDir,
        '--state-dir',
        stateDir,
        '--local-state',
        localStateDir,
        `--port=${port}`,
        // For debugging only, e.g. CANFAR_UI_SERVER_ARGS='--ServerApp.log_level=DEBUG'.
        ...(process.env.CANFAR_UI_SERVER_ARGS ?? '').split(' ').filter(Boolean),
      ],
      {
        cwd: rootDir,
        stdio: ['ignore', 'pipe', 'pipe'],
        // The local server the server half starts: a declared capacity of 2 cores whatever the machine
        // (its /context offers production's 1..16 cores; admission enforces the capacity).
        env: {
          ...process.env,
          PYTHONUNBUFFERED: '1',
          CANFAR_LOCAL_ARGS: process.env.CANFAR_LOCAL_ARGS ?? '--cores 2',
          ...extraEnv,
        },
      },
    );
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    try {
      await waitForServer(url, child, logFile);
      return {
        server: { url, rootDir, stateDir, localStateDir, logFile, pid: child.pid!, baseDir: base },
        child,
      };
    } catch (error) {
      lastError = error;
      child.kill('SIGKILL');
      await exited(child);
    }
  }
  throw lastError;
}

async function stopJupyter(server: JupyterServer, child: ChildProcess): Promise<void> {
  // SIGTERM: jupyter_server shuts its kernels down and the server half stops its local server.
  if (child.exitCode === null) {
    child.kill('SIGTERM');
    const timedOut = await Promise.race([
      exited(child).then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), 15_000)),
    ]);
    if (timedOut) {
      child.kill('SIGKILL');
      await exited(child);
    }
  }
  // A local Skaha server left behind (server.json is removed on a clean close) is ended by its PID.
  const record = join(server.localStateDir, 'server.json');
  if (existsSync(record)) {
    try {
      const { pid } = JSON.parse(readFileSync(record, 'utf8')) as { pid?: number };
      if (pid && isAlive(pid)) process.kill(pid, 'SIGTERM');
    } catch {
      // Half-written record: nothing we started is described by it.
    }
  }
}

/** The already-running server of CANFAR_UI_SERVER_URL, if set. */
function externalServer(): JupyterServer | undefined {
  const url = process.env.CANFAR_UI_SERVER_URL;
  if (!url) return undefined;
  const rootDir = process.env.CANFAR_UI_SERVER_ROOT;
  if (!rootDir || !existsSync(rootDir)) {
    throw new Error(
      `CANFAR_UI_SERVER_URL=${url} needs CANFAR_UI_SERVER_ROOT, the host path of that server's root directory (got ${rootDir ?? 'nothing'}).`,
    );
  }
  return {
    url: url.replace(/\/+$/, ''),
    token: process.env.CANFAR_UI_SERVER_TOKEN || undefined,
    rootDir,
    stateDir: '',
    localStateDir: '',
    logFile: process.env.CANFAR_UI_SERVER_LOG ?? '',
    pid: 0,
    baseDir: '',
  };
}

export const test = base.extend<{
  jupyter: JupyterServer;
  lab: JupyterLabPage;
  /**
   * Extra environment of the Jupyter server (and so of its kernels), e.g. JUPYTER_PATH for kernelspecs.
   * Not applied to an external server (CANFAR_UI_SERVER_URL).
   */
  serverEnv: Record<string, string>;
  /**
   * `test.use({ localCapacity: { cores, ram } })`: the local server the server half starts runs that many
   * replicas at once (for batches larger than the fixture's default of 2 cores).
   */
  localCapacity: LocalCapacity | undefined;
}>({
  serverEnv: [{}, { option: true }],
  localCapacity: [undefined, { option: true }],
  jupyter: async ({ serverEnv, localCapacity }, use, testInfo) => {
    const external = externalServer();
    if (external) {
      await use(external);
      if (testInfo.status !== testInfo.expectedStatus && existsSync(external.logFile)) {
        await testInfo.attach('jupyter-server.log', { path: external.logFile, contentType: 'text/plain' });
      }
      return;
    }
    const { server, child } = await startJupyter(testInfo.outputPath(), {
      ...(localCapacity
        ? { CANFAR_LOCAL_ARGS: `--cores ${localCapacity.cores} --ram ${localCapacity.ram}` }
        : {}),
      ...serverEnv,
    });
    try {
      await use(server);
    } finally {
      await stopJupyter(server, child);
      if (testInfo.status !== testInfo.expectedStatus) {
        await testInfo.attach('jupyter-server.log', { path: server.logFile, contentType: 'text/plain' });
        // Kept for a post-mortem: the notebooks, batch folders and local server state of the failure.
        await testInfo.attach('server-directories', { body: server.baseDir, contentType: 'text/plain' });
      } else {
        rmSync(server.baseDir, { recursive: true, force: true });
      }
    }
  },
  lab: async ({ page, jupyter }, use) => {
    await use(new JupyterLabPage(page, jupyter.url, jupyter.token));
  },
});

export { expect };
