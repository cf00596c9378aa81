// Playwright fixtures: every test gets its own Jupyter server (ui-tests/app/main.py in --test mode)
// on a free port, with a fresh notebook directory and a fresh state directory for the local Skaha
// server, and a JupyterLab page object on it. The server is stopped by its PID after the test,
// and so is the local Skaha server it may have started.
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

/** What the local Skaha server may hand out at once (default: this machine's cores and memory). */
export interface LocalCapacity {
  cores: number;
  /** GB; a flexible session reserves 4 GiB. */
  ram: number;
}

/**
 * Starts the local Skaha server in `stateDir` with a given capacity, before Jupyter: the server half
 * finds it there (server.json) and uses it instead of starting one of its own. For batches larger than
 * this machine's cores, whose replicas must all run at once.
 */
async function startLocalServer(
  stateDir: string,
  capacity: LocalCapacity,
  logFile: string,
): Promise<ChildProcess> {
  mkdirSync(stateDir, { recursive: true });
  const child = spawn(
    process.execPath,
    [
      join(REPO, 'bin/canfar-lab.js'),
      'local',
      '--json',
      '--port',
      '0',
      '--state',
      stateDir,
      '--cores',
      String(capacity.cores),
      '--ram',
      String(capacity.ram),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stderr?.pipe(log);
  await new Promise<void>((resolveStart, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`the local server did not start within 30 s: ${out}`)),
      30_000,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolveStart();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the local server exited with ${code} before listening: ${out}`));
    });
  });
  child.stdout?.pipe(log);
  return child;
}

async function startJupyter(
  outputDir: string,
  capacity?: LocalCapacity,
): Promise<{ server: JupyterServer; child: ChildProcess; local?: ChildProcess }> {
  const base = mkdtempSync(join(tmpdir(), 'canfar-ui-'));
  const rootDir = join(base, 'root');
  const stateDir = join(base, 'state');
  const localStateDir = join(base, 'local-server');
  mkdirSync(rootDir);
  mkdirSync(outputDir, { recursive: true });
  const local = capacity
    ? await startLocalServer(localStateDir, capacity, join(outputDir, 'local-server.log'))
    : undefined;
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
      { cwd: rootDir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } },
    );
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    try {
      await waitForServer(url, child, logFile);
      return {
        server: { url, rootDir, stateDir, localStateDir, logFile, pid: child.pid!, baseDir: base },
        child,
        local,
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

export const test = base.extend<{
  jupyter: JupyterServer;
  lab: JupyterLabPage;
  /** `test.use({ localCapacity: { cores, ram } })`: a local server that runs that many replicas at once. */
  localCapacity: LocalCapacity | undefined;
}>({
  localCapacity: [undefined, { option: true }],
  jupyter: async ({ localCapacity }, use, testInfo) => {
    const { server, child, local } = await startJupyter(testInfo.outputPath(), localCapacity);
    try {
      await use(server);
    } finally {
      await stopJupyter(server, child);
      // The local server we started ends its sessions before it exits: wait, then its files are still.
      if (local && local.exitCode === null && local.signalCode === null) {
        local.kill('SIGTERM');
        const timedOut = await Promise.race([
          exited(local).then(() => false),
          new Promise<boolean>((r) => setTimeout(() => r(true), 15_000)),
        ]);
        if (timedOut) {
          local.kill('SIGKILL');
          await exited(local);
        }
      }
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
    await use(new JupyterLabPage(page, jupyter.url));
  },
});

export { expect };
