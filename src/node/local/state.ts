import { randomBytes } from 'node:crypto';
import { promises as fsp, readFileSync, writeFileSync, renameSync, mkdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Where the local server keeps its state when no `stateDir` is given:
 * `$XDG_DATA_HOME/jupyterlab-canfar/local`, else `~/.local/share/jupyterlab-canfar/local`.
 */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env, home: string = os.homedir()): string {
  const base =
    env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME)
      ? env.XDG_DATA_HOME
      : path.join(home, '.local', 'share');
  return path.join(base, 'jupyterlab-canfar', 'local');
}

/** Writes a file so that readers see the old or the new content, never a torn one (temp file + rename). */
export async function writeFileAtomic(file: string, content: string, mode = 0o600): Promise<void> {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await fsp.writeFile(temp, content, { mode });
  await fsp.rename(temp, file);
}

/** Synchronous variant, for the last writes of a process that is exiting. */
export function writeFileAtomicSync(file: string, content: string, mode = 0o600): void {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, content, { mode });
  renameSync(temp, file);
}

export interface StateLayout {
  root: string;
  sessions: string;
  logs: string;
  tokenFile: string;
  serverFile: string;
}

export function stateLayout(root: string): StateLayout {
  return {
    root,
    sessions: path.join(root, 'sessions'),
    logs: path.join(root, 'logs'),
    tokenFile: path.join(root, 'token'),
    serverFile: path.join(root, 'server.json'),
  };
}

export function ensureStateDirs(layout: StateLayout): void {
  mkdirSync(layout.sessions, { recursive: true, mode: 0o700 });
  mkdirSync(layout.logs, { recursive: true, mode: 0o700 });
}

/**
 * The token: the given one (written to the token file so other processes can find it), else the one
 * already in the file, else a new random one. The file is readable by its owner only.
 */
export async function ensureToken(tokenFile: string, given?: string): Promise<string> {
  if (given !== undefined) {
    if (!given.trim()) throw new Error('The token must not be empty: omit it to get a random one.');
    await writeFileAtomic(tokenFile, `${given}\n`);
    return given;
  }
  try {
    const existing = (await fsp.readFile(tokenFile, 'utf8')).trim();
    if (existing) {
      await fsp.chmod(tokenFile, 0o600);
      return existing;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  // Hex, not base64url: a token that starts with "-" reads as an option after `--token`.
  const token = randomBytes(24).toString('hex');
  await writeFileAtomic(tokenFile, `${token}\n`);
  return token;
}

/**
 * An identity of a running process that survives pid reuse: the start time from /proc (clock ticks
 * since boot) joined with the boot id. Undefined where /proc is absent (then only the pid is checked).
 */
export function processStartIdentity(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: fields are counted after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTicks = fields[19];
    let boot = '';
    try {
      boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      // Without a boot id the start time alone still tells most recycled pids apart.
    }
    return `${boot}:${startTicks}`;
  } catch {
    return undefined;
  }
}

/** True when `pid` runs and, if an identity was recorded, is still the same process. Zombies count as gone. */
export function processAlive(pid: number, identity?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
  } catch {
    // No /proc: trust kill(0).
  }
  if (identity === undefined) return true;
  const now = processStartIdentity(pid);
  return now === undefined || now === identity;
}
