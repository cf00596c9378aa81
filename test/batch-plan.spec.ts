// Every rule of a batch plan refuses bad input before anything is written or sent: against the local
// server over real HTTP, through a transport that records every request it forwards.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { BATCHES_FOLDER, BatchPlanError, fetchPlatformInfo, planBatch, submitBatch } from '../src/batch';
import type { BatchInput } from '../src/batch';
import { NodeBatchStore } from '../src/node/batch-store';
import { createNodeTransport } from '../src/node/transport';
import { SkahaClient } from '../src/skaha';
import type { Transport } from '../src/skaha';
import { IMAGE, startTestServer } from './helpers/local';
import { runCli } from './helpers/cli';
import { pythonNotebook } from './helpers/notebooks';

jest.setTimeout(30_000);

const GOOD = pythonNotebook([
  { source: 'steps = 10\nlabel = "x"\n', tags: ['parameters'] },
  { source: 'print(steps, label)\n' },
]);

let server: Awaited<ReturnType<typeof startTestServer>>;
let transport: ReturnType<typeof createNodeTransport>;
let client: SkahaClient;
let work: string;
const requests: string[] = [];

beforeAll(async () => {
  server = await startTestServer();
  transport = createNodeTransport({ token: server.server.token });
  const counting: Transport = (request) => {
    requests.push(`${request.method} ${new URL(request.url).pathname}`);
    return transport(request);
  };
  client = new SkahaClient({ baseUrl: server.server.apiUrl, transport: counting });
  work = mkdtempSync(join(tmpdir(), 'canfar-batch-plan-'));
  // A session whose name a batch could clash with.
  await server.api.create({ name: 'taken-2', image: IMAGE, cmd: 'true' });
});
afterAll(async () => {
  await transport.close();
  await server.dispose();
  rmSync(work, { recursive: true, force: true });
});

let case_ = 0;
/** What the CLI does: platform info, plan, then submit; returns the problems of the refusal. */
async function refused(change: Partial<BatchInput>, folderName = `case-${++case_}`) {
  const dir = join(work, folderName);
  mkdirSync(dir, { recursive: true });
  const store = new NodeBatchStore(dir);
  const input: BatchInput = {
    notebookPath: 'nb.ipynb',
    notebookText: GOOD,
    replicas: 4,
    image: IMAGE,
    ...change,
  };
  writeFileSync(join(dir, 'nb.ipynb'), input.notebookText);
  requests.length = 0;
  let error: unknown;
  try {
    const plan = await planBatch(input, await fetchPlatformInfo(client), store);
    await submitBatch(plan, { client, store });
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(BatchPlanError);
  // Nothing written, nothing sent but reads.
  expect(existsSync(join(dir, BATCHES_FOLDER))).toBe(false);
  expect(requests.filter((r) => !r.startsWith('GET '))).toEqual([]);
  return (error as BatchPlanError).problems;
}

const rules = (problems: { field: string; value?: unknown; rule: string; hint?: string }[]) =>
  problems.map((p) => `${p.field} = ${JSON.stringify(p.value)}: ${p.rule} (${p.hint ?? ''})`).join('\n');

test.each([
  ['0 replicas', { replicas: 0 }, /replicas=0 is out of range/],
  ['513 replicas', { replicas: 513 }, /replicas=513 is out of range/],
  ['a name with _', { name: 'my_batch' }, /name "my_batch" contains "_"/],
  [
    'a name too long for the replica suffix',
    { name: 'a'.repeat(61), replicas: 10 },
    /too long for 10 replicas/,
  ],
  [
    'an image on another registry',
    { image: 'docker.io/library/python:3' },
    /not on a registry this service allows/,
  ],
  [
    'an image listed for desktop sessions only',
    { image: 'images.canfar.net/skaha/desktop:latest' },
    /listed for .*not headless/,
  ],
  ['cores not offered by /context', { cores: 999 }, /cores=999 is not offered/],
  ['fractional RAM', { ram: 0.5 }, /ram=0.5 must be a whole number/],
  ['gpus=0', { gpus: 0 }, /gpus=0/],
  ['an env value with =', { env: { OPTS: 'a=b' } }, /contains "=": the service silently drops/],
  ['an empty env value', { env: { EMPTY: '' } }, /EMPTY is empty/],
  ['an env name with -', { env: { 'BAD-NAME': 'x' } }, /environment variable name/],
  ['a reserved env name', { env: { REPLICA_ID: '3' } }, /REPLICA_ID.*set by the batch itself/],
  ['a parameter passed as env', { env: { CANFAR_PARAM_steps: '3' } }, /use --param steps=VALUE/],
  [
    'an undeclared parameter',
    { params: { stepz: '3' } },
    /stepz.*not a parameter of the notebook \(its parameters cell declares: steps, label\)/,
  ],
  ['a parameter of the wrong type', { params: { steps: 'ten' } }, /steps.*must be a whole number/],
  ['a notebook that is not JSON', { notebookText: '{"cells": [' }, /notebook.*not valid JSON/],
  [
    'a notebook with an unknown magic when unknown magics are errors',
    { notebookText: pythonNotebook([{ source: '%nosuchmagic 1\n' }]), unknownMagics: 'error' as const },
    /cell 1/,
  ],
  ['a replica name used by an existing session', { name: 'taken' }, /taken-2 is session [a-z0-9]+/],
])('refuses %s', async (_what, change, expected) => {
  expect(rules(await refused(change))).toMatch(expected);
});

test('a folder with a space in its path', async () => {
  expect(rules(await refused({}, 'has space/inner'))).toMatch(
    /contains a space: Skaha splits a session command on spaces/,
  );
});

test('every problem is reported at once', async () => {
  const problems = await refused({
    replicas: 600,
    name: 'bad_name',
    cores: 999,
    env: { A: '' },
    params: { nope: '1' },
  });
  expect(problems.map((p) => p.field).sort()).toEqual(
    expect.arrayContaining(['replicas', 'name', 'cores', 'env', 'param nope']),
  );
  expect(problems.length).toBeGreaterThanOrEqual(5);
});

test('the CLI: exit code 2, every problem on stderr, no folder, no POST to the server', async () => {
  const dir = join(work, 'cli');
  mkdirSync(dir);
  writeFileSync(join(dir, 'nb.ipynb'), GOOD);
  const before = (await server.api.list()).length;
  const { code, stderr: err } = await runCli(
    [
      '--url',
      server.server.url,
      '--token',
      server.server.token,
      'submit',
      join(dir, 'nb.ipynb'),
      '-r',
      '4',
      '-c',
      '999',
      '--param',
      'steps=ten',
      '-e',
      'X=a=b',
    ],
    { PATH: process.env.PATH, HOME: server.home },
  );
  expect(code).toBe(2);
  expect(err).toMatch(/nothing was written or launched/);
  expect(err).toMatch(/cores=999/);
  expect(err).toMatch(/steps.*whole number/);
  expect(err).toMatch(/X=.*contains "="/);
  expect(existsSync(join(dir, BATCHES_FOLDER))).toBe(false);
  expect((await server.api.list()).length).toBe(before);
});

test('a good plan writes nothing until submitted, and a dry run of the CLI writes nothing', async () => {
  const dir = join(work, 'good');
  mkdirSync(dir);
  writeFileSync(join(dir, 'nb.ipynb'), GOOD);
  const store = new NodeBatchStore(dir);
  const plan = await planBatch(
    {
      notebookPath: 'nb.ipynb',
      notebookText: GOOD,
      replicas: 3,
      image: IMAGE,
      env: { API_TOKEN: 's3cret', MODE: 'fast' },
    },
    await fetchPlatformInfo(client),
    store,
  );
  expect(existsSync(join(dir, BATCHES_FOLDER))).toBe(false);
  expect(plan.spec.env).toMatchObject({ API_TOKEN: 's3cret', MODE: 'fast', CANFAR_BATCH_ID: plan.batchId });
  // Secret values are sent but never stored; names always are.
  expect(plan.manifest.env.names).toEqual(expect.arrayContaining(['API_TOKEN', 'MODE', 'CANFAR_BATCH_ID']));
  expect(plan.manifest.env.values).toEqual({ MODE: 'fast', CANFAR_BATCH_ID: plan.batchId });
  expect(JSON.stringify(plan.files)).not.toContain('s3cret');

  const { code, stdout: out } = await runCli(
    [
      '--url',
      server.server.url,
      '--token',
      server.server.token,
      'submit',
      join(dir, 'nb.ipynb'),
      '-r',
      '3',
      '--dry-run',
    ],
    { PATH: process.env.PATH, HOME: server.home },
  );
  expect(code).toBe(0);
  expect(out).toMatch(/Would launch 3 replica\(s\)/);
  expect(existsSync(join(dir, BATCHES_FOLDER))).toBe(false);
  // The folder the assertions above watch is where a submitted batch does go.
  await submitBatch(plan, { client, store });
  expect(existsSync(join(dir, BATCHES_FOLDER, plan.batchId, 'batch.json'))).toBe(true);
});

test('a notebook that needs IPython: the plan says so, run.sh checks it, the runtime module is written', async () => {
  const dir = join(work, 'needs-ipython');
  mkdirSync(dir);
  const text = pythonNotebook(['x = 1', '%load_ext myext\n%myext', 'print(x)']);
  const plan = await planBatch(
    { notebookPath: 'nb.ipynb', notebookText: text, replicas: 1, image: IMAGE },
    await fetchPlatformInfo(client),
    new NodeBatchStore(dir),
  );
  expect(plan.warnings).toContain('this notebook needs IPython in the image: cell 2 (%load_ext, %myext)');
  expect(plan.conversion.needsIPython).toEqual({ cells: [1], message: expect.any(String) });
  const runSh = plan.files.find((file) => file.path === 'run.sh')?.content;
  expect(runSh).toContain(
    'this notebook needs IPython in the image (cells 2 use magics that only IPython runs)',
  );
  const script = plan.files.find((file) => file.path === 'script.py')?.content ?? '';
  expect(script).toContain('from canfar_batch._runtime import start;');
  expect(plan.files.map((file) => file.path)).toContain('pylib/canfar_batch/_runtime.py');
});
