import { parseArgs } from 'node:util';

import { startLocalServer } from '../../local';
import type { Command, CommandIO } from '../command';

const usage = `Usage: canfar-lab local [options]

Runs a Skaha-compatible server on this machine: the same API as CANFAR's, with headless sessions run
as local processes (the image is recorded, not run). Ctrl-C stops it; running sessions are ended.

Options:
  --port P       TCP port (default 0: any free port)
  --host H       interface to listen on (default 127.0.0.1: this machine only)
  --token T      bearer token clients must send (default: a random one kept in <state>/token)
  --state DIR    state directory: sessions, logs, token (default ~/.local/share/jupyterlab-canfar/local)
  --ttl S        seconds a finished session stays visible (default 3600, like CANFAR)
  --cores N      cores the queue hands out (default: this machine's)
  --ram GB       GB of RAM the queue hands out (default: this machine's)
  --runtime R    run headless sessions in their image with R = docker or podman (default: as processes)
  --json         print one JSON line {"url","apiUrl","tokenFile","pid"} once listening
Fault injection (tests): env CANFAR_LOCAL_FAULTS='{"unavailableRate":0.1,"seed":1}'.
`;

function numberFlag(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min)
    throw new UsageError(`--${name} must be a number >= ${min}, got "${value}".`);
  return n;
}

class UsageError extends Error {}

const options = {
  port: { type: 'string' },
  host: { type: 'string' },
  token: { type: 'string' },
  state: { type: 'string' },
  ttl: { type: 'string' },
  cores: { type: 'string' },
  ram: { type: 'string' },
  runtime: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const local: Command = {
  summary: 'run a local Skaha-compatible server (sessions run as processes on this machine)',
  usage,
  options,
  async run(io: CommandIO): Promise<number> {
    let values: Record<string, string | boolean | undefined>;
    let port: number | undefined;
    let ttl: number | undefined;
    let cores: number | undefined;
    let ram: number | undefined;
    try {
      ({ values } = parseArgs({
        args: io.argv,
        options,
        strict: true,
        allowPositionals: false,
      }));
      port = numberFlag(values.port as string | undefined, 'port', 0);
      ttl = numberFlag(values.ttl as string | undefined, 'ttl', 0);
      cores = numberFlag(values.cores as string | undefined, 'cores', 1);
      ram = numberFlag(values.ram as string | undefined, 'ram', 1);
      if (values.runtime !== undefined && values.runtime !== 'docker' && values.runtime !== 'podman') {
        throw new UsageError(`--runtime must be docker or podman, got "${values.runtime}".`);
      }
    } catch (error) {
      io.stderr.write(`canfar-lab local: ${(error as Error).message}\n\n${usage}`);
      return 2;
    }
    if (values.help) {
      io.stdout.write(usage);
      return 0;
    }
    const json = Boolean(values.json) || io.globals.json;
    let server;
    try {
      server = await startLocalServer({
        port,
        host: values.host as string | undefined,
        // --token may have been taken by the CLI as a global option: it means the same here.
        token: (values.token as string | undefined) ?? io.globals.token,
        stateDir: values.state as string | undefined,
        ttlSeconds: ttl,
        cores,
        ramGB: ram,
        container: values.runtime ? { runtime: values.runtime as 'docker' | 'podman' } : undefined,
        log: json ? undefined : (line) => io.stderr.write(`${new Date().toISOString()} ${line}\n`),
      });
    } catch (error) {
      io.stderr.write(`canfar-lab local: ${(error as Error).message}\n`);
      return 1;
    }
    const host = (values.host as string | undefined) ?? '127.0.0.1';
    if (!['127.0.0.1', 'localhost', '::1'].includes(host)) {
      io.stderr.write(
        `Warning: listening on ${host}: anyone who can reach it and has the token can run commands as this user on this machine.\n`,
      );
    }
    if (json) {
      io.stdout.write(
        `${JSON.stringify({ url: server.url, apiUrl: server.apiUrl, tokenFile: server.tokenFile, pid: process.pid })}\n`,
      );
    } else {
      io.stdout.write(
        `Local Skaha server: ${server.url}\n` +
          `  API base:   ${server.apiUrl}\n` +
          `  Token file: ${server.tokenFile}\n` +
          `  State:      ${server.stateDir}\n` +
          `Use it with: canfar-lab --url local ...   (Ctrl-C to stop)\n`,
      );
    }
    // SIGTERM ends it as cleanly as Ctrl-C (the CLI framework aborts io.signal on SIGINT).
    await new Promise<void>((resolve) => {
      if (io.signal.aborted) return resolve();
      io.signal.addEventListener('abort', () => resolve(), { once: true });
      process.once('SIGTERM', () => resolve());
    });
    if (!json) io.stderr.write('Stopping: ending running sessions...\n');
    await server.close();
    return 0;
  },
};
