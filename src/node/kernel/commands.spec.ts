// The notebook commands as a plain node script uses them, over real HTTP against the local server with
// real processes: sessions, launch (N replicas), logs (whole and followed), events, stats, a batch
// submitted, watched, listed and deleted, and the tagged template with the CLI's syntax.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { IMAGE, startTestServer } from '../../../test/helpers/local';
import { SkahaError } from '../../skaha';
import {
  batch,
  batches,
  configure,
  deleteBatch,
  disconnect,
  events,
  launch,
  logs,
  sessions,
  stats,
  submit,
  watch,
} from './commands';
import { canfar } from './index';
import { LaunchResult, LogText, SessionTable } from './results';
import { templateArgs } from './template';

jest.setTimeout(30_000);

let server: Awaited<ReturnType<typeof startTestServer>>;
let dir: string;

/** A script file (no spaces in its path: the service splits args on spaces). */
function script(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

beforeAll(async () => {
  server = await startTestServer({ cores: 4 });
  dir = mkdtempSync(join(tmpdir(), 'canfar-kernel-'));
});
afterAll(async () => {
  await disconnect();
  await server.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test('without a server: the error says what to start; configure() then connects', async () => {
  await configure({ url: 'local', stateDir: join(dir, 'no-state') });
  await expect(sessions()).rejects.toThrow(/No local server is running .*canfar-lab local/);
  await configure({ url: server.server.url, token: server.server.token });
  expect(await sessions()).toEqual([]);
});

test('launch: N replicas with REPLICA_ID, listed by sessions(); a bad spec is refused before any request', async () => {
  const echo = script('replica.sh', 'echo "replica $REPLICA_ID of $REPLICA_COUNT"');
  const result = await launch({ image: IMAGE, name: 'sweep', replicas: 3, cmd: 'sh', args: [echo] });
  expect(result).toBeInstanceOf(LaunchResult);
  expect(result.map((o) => o.name)).toEqual(['sweep-1', 'sweep-2', 'sweep-3']);
  expect(result.ids).toHaveLength(3);

  const listed = await sessions({ kind: 'headless' });
  expect(listed).toBeInstanceOf(SessionTable);
  expect(listed.map((s) => s.name).sort()).toEqual(['sweep-1', 'sweep-2', 'sweep-3']);
  await server.api.waitStatus(result.ids[1], ['Completed']);
  expect((await logs(result.ids[1])).text).toBe('replica 2 of 3\n');

  const before = (await server.api.list()).length;
  await expect(launch({ image: IMAGE, cmd: 'echo', args: ['two words'] })).rejects.toThrow(SkahaError);
  await expect(launch({ image: IMAGE, cores: 64 })).rejects.toThrow(/cores/);
  expect(await server.api.list()).toHaveLength(before);
});

test('logs: `await` gives the whole log; follow emits each new part once until the session ends', async () => {
  const slow = script('slow.sh', 'echo one; sleep 0.4; echo two; sleep 0.4; printf three');
  const [outcome] = await launch({ image: IMAGE, name: 'slow', cmd: 'sh', args: [slow] });
  if (!outcome.ok) throw new Error(outcome.message);
  const chunks: string[] = [];
  for await (const chunk of logs(outcome.sessionId, { follow: true, intervalMs: 50 })) chunks.push(chunk);
  // Every read returns the whole log; only the unseen suffix is emitted, so the parts add up exactly.
  expect(chunks.join('')).toBe('one\ntwo\nthree');
  expect(chunks.length).toBeGreaterThan(1);
  expect(chunks[0].startsWith('one\n')).toBe(true);

  const whole = await logs(outcome.sessionId);
  expect(whole).toBeInstanceOf(LogText);
  expect(whole.lines).toEqual(['one', 'two', 'three']);
  const lines: string[] = [];
  for await (const line of logs(outcome.sessionId, { follow: true }).lines()) lines.push(line);
  expect(lines).toEqual(['one', 'two', 'three']);

  const evts = await events(outcome.sessionId);
  expect(evts.map((e) => e.reason)).toEqual(expect.arrayContaining(['Scheduled', 'Started', 'Completed']));
  expect((await stats()).cores.available).toBe(4);
});

test('logs follow waits through the queue: a Pending session has no log yet, then its output comes', async () => {
  const busy = script('busy.sh', 'sleep 1');
  const blockers = await launch({ image: IMAGE, name: 'busy', replicas: 4, cmd: 'sh', args: [busy] });
  const hello = script('queued.sh', 'echo "after the queue"');
  const [queued] = await launch({ image: IMAGE, name: 'queued', cmd: 'sh', args: [hello] });
  if (!queued.ok) throw new Error(queued.message);
  expect((await server.api.session(queued.sessionId)).status).toBe('Pending');
  const chunks: string[] = [];
  for await (const chunk of logs(queued.sessionId, { follow: true, intervalMs: 50 })) chunks.push(chunk);
  expect(chunks.join('')).toBe('after the queue\n');
  for (const id of blockers.ids) await server.api.waitStatus(id, ['Completed']);
});

test('submit, watch, batches, batch, deleteBatch: a JavaScript notebook as 3 replicas', async () => {
  const notebook = join(dir, 'count.ipynb');
  writeFileSync(
    notebook,
    JSON.stringify({
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: 'jslab', display_name: 'JavaScript', language: 'javascript' } },
      cells: [
        {
          cell_type: 'code',
          id: 'a1',
          metadata: {},
          outputs: [],
          execution_count: null,
          source: 'console.log(`replica ${process.env.REPLICA_ID} of ${process.env.REPLICA_COUNT}`);',
        },
      ],
    }),
  );
  const submitted = await submit(notebook, { replicas: 3, image: IMAGE });
  expect(submitted.launched).toBe(3);
  expect(submitted.folder).toBe(join(dir, 'canfar-batches', submitted.batchId));

  const printed: string[] = [];
  const final = await watch(submitted, { intervalMs: 100, print: (line) => printed.push(line) });
  expect(final.ok).toBe(true);
  expect(final.counts).toMatchObject({ total: 3, completed: 3, failed: 0 });
  // Plain node: one line per change, the last one saying all are done; the value renders as a table.
  expect(printed.at(-1)).toMatch(/3\/3 done, 0 running, 0 pending$/);
  expect(new Set(printed).size).toBe(printed.length);
  expect(final.shownLive).toBe(false);
  expect(String(final)).toContain('REPLICA  NAME');
  for (let replica = 1; replica <= 3; replica++) {
    const log = readFileSync(join(submitted.folder, 'logs', `replica-${replica}.log`), 'utf8');
    expect(log).toContain(`replica ${replica} of 3`);
  }

  const listed = await batches({ dirs: [dir] });
  expect(listed.map((b) => b.batchId)).toContain(submitted.batchId);
  expect((await batch(submitted.batchId)).counts.completed).toBe(3);

  const deleted = await deleteBatch(submitted.batchId);
  expect(deleted.deleted.sort()).toEqual([...submitted.outcomes.ids].sort());
  expect(deleted.failed).toEqual([]);
  // Deleted: batches() no longer lists it (all: true does), and its folder and logs stay.
  expect((await batches({ dirs: [dir] })).map((b) => b.batchId)).not.toContain(submitted.batchId);
  expect((await batches({ dirs: [dir], all: true })).map((b) => b.batchId)).toContain(submitted.batchId);
  expect(readFileSync(join(submitted.folder, 'logs', 'replica-2.log'), 'utf8')).toContain('replica 2 of 3');

  await expect(watch('20200101-000000-zzzz')).rejects.toThrow(
    /batch "20200101-000000-zzzz" not found in .*canfar-batches/,
  );
});

test('submit with a sweep, a canary and an expected output: watch launches the rest and shows each set', async () => {
  const notebook = join(dir, 'grid.ipynb');
  writeFileSync(
    notebook,
    JSON.stringify({
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: 'jslab', display_name: 'JavaScript', language: 'javascript' } },
      cells: [
        {
          cell_type: 'code',
          id: 'p',
          metadata: { tags: ['parameters'] },
          outputs: [],
          execution_count: null,
          source: 'let threshold = 0.5;\nlet method = "gaussian";',
        },
        {
          cell_type: 'code',
          id: 'w',
          metadata: {},
          outputs: [],
          execution_count: null,
          source: [
            "const fs = require('node:fs');",
            "fs.mkdirSync('out', { recursive: true });",
            'const set = process.env.CANFAR_SET_ID;',
            "if (!(set === '2' && process.env.REPLICA_ID === '1'))",
            '  fs.writeFileSync(`out/${set}-${process.env.REPLICA_ID}.json`, JSON.stringify({ threshold, method }));',
          ].join('\n'),
        },
      ],
    }),
  );
  const submitted = await submit(notebook, {
    sweep: { threshold: [0.1, 0.9], method: ['box'] },
    replicas: 2,
    image: IMAGE,
    canary: true,
    expect: ['out/{set}-{shard}.json'],
  });
  // The canary alone first.
  expect(submitted.launched).toBe(1);
  const final = await watch(submitted, { intervalMs: 100, print: () => undefined });
  expect(final.view.phase).toBe('done');
  expect(final.replicas.map((r) => [r.replica, r.set, r.shard, r.state])).toEqual([
    [1, 1, 1, 'completed'],
    [2, 1, 2, 'completed'],
    [3, 2, 1, 'output-missing'],
    [4, 2, 2, 'completed'],
  ]);
  expect(final.ok).toBe(false);
  expect(final.summary).toMatch(/4\/4 done, .*1 failed \(1 with output missing\)/);
  expect(final.sets).toEqual([
    expect.objectContaining({ set: 1, threshold: '0.1', method: 'box', states: ['completed', 'completed'] }),
    expect.objectContaining({
      set: 2,
      threshold: '0.9',
      method: 'box',
      states: ['output-missing', 'completed'],
    }),
  ]);
  expect(JSON.parse(readFileSync(join(dir, 'out/2-2.json'), 'utf8'))).toEqual({
    threshold: 0.9,
    method: 'box',
  });
  const text = String(final);
  expect(text).toMatch(/REPLICA\s+SET\s+SHARD\s+threshold\s+method\s+NAME/);
  expect(text).toContain('output missing: out/2-1.json');
});

describe('the canfar tagged template', () => {
  test('splits like a shell line; an interpolated value is one argument whatever it holds', () => {
    const value = 'a b "c"';
    expect(templateArgs(['logs ', ' -f'], [value])).toEqual(['logs', value, '-f']);
    expect(templateArgs(['create -e NAME=', ' -n "x y"'], ['v w'])).toEqual([
      'create',
      '-e',
      'NAME=v w',
      '-n',
      'x y',
    ]);
    expect(() => templateArgs(["ps 'open"], [])).toThrow(/unterminated ' quote/);
  });

  test('the CLI syntax calls the same functions', async () => {
    const hello = script('hello.sh', 'echo "hello $REPLICA_ID"');
    const launched = (await canfar`create -r 2 -n tpl headless ${IMAGE} -- sh ${hello}`) as LaunchResult;
    expect(launched).toBeInstanceOf(LaunchResult);
    expect(launched.map((o) => o.name)).toEqual(['tpl-1', 'tpl-2']);
    await server.api.waitStatus(launched.ids[0], ['Completed']);
    const log = (await canfar`logs ${launched.ids[0]}`) as LogText;
    expect(log.text).toBe('hello 1\n');
    const ps = (await canfar`ps --kind headless`) as SessionTable;
    expect(ps.map((s) => s.name)).toEqual(expect.arrayContaining(['tpl-1', 'tpl-2']));
    expect(canfar.sessions).toBe(sessions);

    await expect(canfar`frobnicate`).rejects.toThrow(
      /unknown command "frobnicate"; one of: ps, create, submit/,
    );
    await expect(canfar`create headless`).rejects.toThrow(/create needs KIND and IMAGE/);
    await expect(canfar`submit x.ipynb`).rejects.toThrow(/-r\/--replicas N is required/);
    // The CLI's submit flags are the template's; the one a notebook cannot honour is refused by name,
    // before anything is read or sent (x.ipynb does not exist).
    await expect(canfar`submit x.ipynb -r 2 --dry-run`).rejects.toThrow(
      /--dry-run is for the canfar-lab command line/,
    );
    await expect(canfar`submit x.ipynb -r 2 --follow --interval 0`).rejects.toThrow(
      /--interval must be a positive number of seconds, not "0"/,
    );
    await expect(canfar`submit x.ipynb -r 2 --frobnicate`).rejects.toThrow(/unknown option '--frobnicate'/);
  });
});
