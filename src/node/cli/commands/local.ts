import { parseArgs } from 'node:util';

import { startLocalServer, type FaultOptions } from '../../local';
import { resolveFaults } from '../../local/faults';
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
  --cores N      cores the queue admits at once (default: this machine's); sessions beyond wait Pending,
                 interactive ones first, then headless, in arrival order. A flexible session counts 1 core
  --ram GB       GB of RAM the queue admits at once (default: this machine's); a flexible session counts 4 GiB
  --context C    what /context offers: production (default: CANFAR's 1..16 cores, 1..192 GB, 1..7 GPUs)
                 or capacity (only values that fit in --cores/--ram, no GPU)
  --no-preempt-for-interactive
                 do not preempt headless sessions to make room for an interactive one (CANFAR does)
  --runtime R    run headless sessions in their image with R = docker or podman (default: as processes)
  --json         print one JSON line {"url","apiUrl","tokenFile","pid"} once listening
Preemption, as CANFAR's queue does it (SIGTERM to the process group, SIGKILL after 5 s, back to Pending
without startTime, run again from the start when readmitted):
  --preempt-after S    every headless session once, S seconds after it starts running
  --preempt-random P   each run of a headless session with probability P, at a random moment
  --preempt-within S   ... within S seconds of its start (default 10)
  --preempt-max K      ... at most K times per session (default 1)
  --seed N             seed of the random draws (same seed and session names: same preemptions)
  --preempt-requeue S  a preempted session stays Pending S seconds before it may run again (default 2)
Other faults (tests): env CANFAR_LOCAL_FAULTS='{"unavailableRate":0.1,"seed":1}' (the flags above win).
Env CANFAR_LOCAL_ARGS='--cores 2 --preempt-after 2' adds options before the command line's (which win):
the way to set up a server that something else starts, such as JupyterLab's.
`;

export const LOCAL_ARGS_ENV = 'CANFAR_LOCAL_ARGS';

/** Options from CANFAR_LOCAL_ARGS, split on white space (values cannot hold spaces). */
function envArgs(env: NodeJS.ProcessEnv): string[] {
  return (env[LOCAL_ARGS_ENV] ?? '').split(/\s+/).filter(Boolean);
}

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
  context: { type: 'string' },
  'no-preempt-for-interactive': { type: 'boolean' },
  'preempt-after': { type: 'string' },
  'preempt-random': { type: 'string' },
  'preempt-within': { type: 'string' },
  'preempt-max': { type: 'string' },
  'preempt-requeue': { type: 'string' },
  seed: { type: 'string' },
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
    let faults: FaultOptions | undefined;
    try {
      ({ values } = parseArgs({
        // CANFAR_LOCAL_ARGS first: the command line's own options win over it.
        args: [...envArgs(io.env), ...io.argv],
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
      if (values.context !== undefined && values.context !== 'production' && values.context !== 'capacity') {
        throw new UsageError(`--context must be production or capacity, got "${values.context}".`);
      }
      const flags: FaultOptions = {};
      const after = numberFlag(values['preempt-after'] as string | undefined, 'preempt-after', 0);
      const rate = numberFlag(values['preempt-random'] as string | undefined, 'preempt-random', 0);
      const within = numberFlag(values['preempt-within'] as string | undefined, 'preempt-within', 0);
      const max = numberFlag(values['preempt-max'] as string | undefined, 'preempt-max', 1);
      const seed = numberFlag(values.seed as string | undefined, 'seed', 0);
      const requeue = numberFlag(values['preempt-requeue'] as string | undefined, 'preempt-requeue', 0);
      if (rate !== undefined && rate > 1)
        throw new UsageError(`--preempt-random must be <= 1, got "${rate}".`);
      if (max !== undefined && !Number.isInteger(max))
        throw new UsageError(`--preempt-max must be a whole number, got "${max}".`);
      if (after !== undefined && rate !== undefined)
        throw new UsageError('--preempt-after and --preempt-random cannot be used together: choose one.');
      if (after !== undefined) flags.preemptAfterSeconds = after;
      if (rate !== undefined) flags.preemptRate = rate;
      if (within !== undefined) flags.preemptWithinSeconds = within;
      if (max !== undefined) flags.preemptMaxTimes = max;
      if (seed !== undefined) flags.seed = seed;
      if (requeue !== undefined) flags.preemptRequeueSeconds = requeue;
      if (Object.keys(flags).length > 0) {
        // The flags add to (and win over) the faults of CANFAR_LOCAL_FAULTS.
        const fromEnv = resolveFaults(undefined, io.env) ?? {};
        if (flags.preemptAfterSeconds !== undefined) delete fromEnv.preemptRate;
        if (flags.preemptRate !== undefined) delete fromEnv.preemptAfterSeconds;
        faults = { ...fromEnv, ...flags };
        // A random run without a seed gets one here, printed in the banner, so that it can be replayed.
        if ((faults.preemptRate ?? 0) > 0 && faults.seed === undefined) faults.seed = Date.now() % 2 ** 31;
      }
    } catch (error) {
      const fromEnv =
        envArgs(io.env).length > 0 ? ` (${LOCAL_ARGS_ENV}=${io.env[LOCAL_ARGS_ENV]} came first)` : '';
      io.stderr.write(`canfar-lab local: ${(error as Error).message}${fromEnv}\n\n${usage}`);
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
        context: values.context as 'production' | 'capacity' | undefined,
        preemptForInteractive: values['no-preempt-for-interactive'] ? false : undefined,
        faults,
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
          `  Capacity:   ${server.capacity.cores} cores, ${server.capacity.ramGB} GB (sessions beyond wait Pending)\n` +
          (faults?.preemptAfterSeconds !== undefined
            ? `  Preemption: every headless session once, ${faults.preemptAfterSeconds} s after it starts\n`
            : '') +
          ((faults?.preemptRate ?? 0) > 0
            ? `  Preemption: each run with probability ${faults!.preemptRate}, within ${faults!.preemptWithinSeconds ?? 10} s, ` +
              `at most ${faults!.preemptMaxTimes ?? 1} times per session (seed ${faults!.seed ?? 'from the clock'}: --seed replays it)\n`
            : '') +
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
