/**
 * The local Skaha-compatible server under load: how long it takes to accept N creates (POST /session,
 * 32 at a time like the official client) and to have all N processes Running, and what an idle session
 * costs in memory: the server's RSS growth per session, and the RSS of each session's processes
 * (the sh wrapper plus the command, here `sleep`).
 *
 *   npm run bench:local -- [--sizes 1,10,100,500] [--concurrency 32]
 *
 * The server runs as a child process (so its RSS is its own), with a declared capacity of N cores so all
 * N sessions can run at once; a laptop's real queue (its own cores) would hold most of them Pending.
 * Figures only; nothing is asserted.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1,10,100,500' },
    concurrency: { type: 'string', default: '32' },
  },
});
const SIZES = values.sizes!.split(',').map(Number);
const CONCURRENCY = Number(values.concurrency);
const IMAGE = 'images.canfar.net/skaha/terminal:1.1.2';

function rssKb(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** RSS of every process whose process group is one of `groups` (the sessions' wrappers lead their groups). */
function groupsRssKb(groups: Set<number>): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (groups.has(Number(fields[2]))) total += rssKb(Number(entry));
    } catch {
      // The process ended meanwhile.
    }
  }
  return total;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function measure(n: number): Promise<string[]> {
  const root = mkdtempSync(join(tmpdir(), 'canfar-bench-local-'));
  const state = join(root, 'state');
  const child = spawn(
    process.execPath,
    [
      join(__dirname, 'run.mjs'),
      join(__dirname, '../src/node/local/cli-entry.ts'),
      '--json',
      '--port',
      '0',
      '--state',
      state,
      '--cores',
      String(n),
      '--ram',
      String(n * 5 + 8),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], cwd: root },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  while (!out.includes('\n')) await sleep(10);
  const info = JSON.parse(out.split('\n')[0]) as { apiUrl: string; tokenFile: string; pid: number };
  const token = readFileSync(info.tokenFile, 'utf8').trim();
  const headers = { Authorization: `Bearer ${token}` };
  try {
    // Warm up (JIT, connection), then let the heap settle before the baseline.
    for (let i = 0; i < 20; i += 1) await (await fetch(`${info.apiUrl}/session`, { headers })).text();
    await sleep(300);
    const rssBefore = rssKb(info.pid);

    const started = performance.now();
    let next = 0;
    const ids: string[] = [];
    const worker = async () => {
      while (next < n) {
        const i = next++;
        const body = new URLSearchParams({ name: `bench-${i + 1}`, image: IMAGE, cmd: 'sleep', args: '600' });
        const res = await fetch(`${info.apiUrl}/session`, {
          method: 'POST',
          headers: { ...headers, 'Content-Type': 'application/x-www-form-urlencoded' },
          body,
        });
        const text = await res.text();
        if (res.status !== 200) throw new Error(`create ${i + 1} answered ${res.status}: ${text}`);
        ids.push(text.trim());
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n) }, worker));
    const accepted = performance.now() - started;
    for (;;) {
      const list = (await (
        await fetch(`${info.apiUrl}/session?status=Running`, { headers })
      ).json()) as unknown[];
      if (list.length >= n) break;
      await sleep(5);
    }
    const allRunning = performance.now() - started;
    await sleep(500);
    const rssAfter = rssKb(info.pid);
    const groups = new Set<number>();
    for (const file of readdirSync(join(state, 'sessions'))) {
      const record = JSON.parse(readFileSync(join(state, 'sessions', file), 'utf8')) as { pid?: number };
      if (record.pid) groups.add(record.pid);
    }
    const sessionRss = groupsRssKb(groups);
    return [
      String(n),
      accepted.toFixed(0),
      ((n / accepted) * 1000).toFixed(0),
      allRunning.toFixed(0),
      ((rssAfter - rssBefore) / n).toFixed(1),
      (sessionRss / n).toFixed(0),
    ];
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const header = [
    'N',
    'accept all (ms)',
    'creates/s',
    'all Running (ms)',
    'server RSS/session (KB)',
    'session procs RSS/session (KB)',
  ];
  const rows: string[][] = [];
  for (const n of SIZES) rows.push(await measure(n));
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((cell, c) => cell.padStart(widths[c])).join('  ');
  console.log(
    `local server, ${CONCURRENCY} creates in flight, sessions run \`sleep 600\` (node ${process.version})`,
  );
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
