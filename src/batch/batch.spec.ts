// Pieces of the batch module that need no server: ids, the manifest writer, log reading, the in-memory store.
import { deleteAndHideBatch, rerunInput } from './actions';
import { newBatchId, BATCH_ID_PATTERN, slugify } from './ids';
import { imagePullError, summarizeFailure } from './logs';
import {
  isBatchDeleted,
  ManifestWriter,
  listBatchFolders,
  markBatchDeleted,
  parseManifest,
  readManifest,
  undeletedBatchFolders,
} from './manifest';
import { BATCH_FOLDER_TO_NOTEBOOK_DIR, BATCHES_FOLDER, batchFolder, notebookDirOf } from './paths';
import { isSecretName } from './plan';
import { joinPath, MemoryBatchStore } from './store';
import type { BatchStore } from './store';
import { MANIFEST_SCHEMA } from './types';
import type { BatchManifest } from './types';
import type { SkahaClient } from '../skaha';

test('batch ids sort by time and are valid in session names and paths', () => {
  const a = newBatchId(new Date('2026-07-21T18:09:21Z'));
  const b = newBatchId(new Date('2026-07-21T18:09:22Z'));
  expect(a).toMatch(/^20260721-180921-[a-z0-9]{4}$/);
  expect(a).toMatch(BATCH_ID_PATTERN);
  expect([b, a].sort()).toEqual([a, b]);
  expect(new Set(Array.from({ length: 200 }, () => newBatchId(new Date(0)))).size).toBeGreaterThan(190);
  expect(slugify('My Analysis (v2).ipynb'.replace(/\.ipynb$/, ''))).toBe('my-analysis-v2');
  expect(batchFolder('work/sweep.ipynb', a)).toBe(`work/canfar-batches/${a}`);
  expect(batchFolder('sweep.ipynb', a)).toBe(`canfar-batches/${a}`);
});

test('the batch folder is visible to Jupyter, and leads back to the notebook folder', () => {
  // jupyter_server refuses hidden paths by default and the file browser hides them: no dot anywhere.
  expect(BATCHES_FOLDER.split('/').every((part) => !part.startsWith('.'))).toBe(true);
  const id = '20260721-180921-abcd';
  for (const notebook of ['sweep.ipynb', 'work/sweep.ipynb', '/arc/home/jdoe/a/b/sweep.ipynb']) {
    const dir = notebook.includes('/') ? notebook.slice(0, notebook.lastIndexOf('/')) : '';
    expect(notebookDirOf(batchFolder(notebook, id))).toBe(dir);
    expect(joinPath(batchFolder(notebook, id), BATCH_FOLDER_TO_NOTEBOOK_DIR)).toBe(dir);
  }
});

test('secret-looking env names', () => {
  for (const name of ['CANFAR_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'DB_PASSWORD', 'API_KEY', 'github_token'])
    expect(isSecretName(name)).toBe(true);
  for (const name of ['MODE', 'N_ITER', 'CANFAR_BATCH_ID']) expect(isSecretName(name)).toBe(false);
});

const manifest = (): BatchManifest =>
  parseManifest(
    JSON.stringify({
      schema: MANIFEST_SCHEMA,
      batchId: '20260721-180921-abcd',
      name: 'x',
      replicas: [{ replica: 1, name: 'x-1' }],
    }),
  );

test('the manifest writer applies every update, never overlaps writes, and coalesces bursts', async () => {
  const store = new MemoryBatchStore();
  let writes = 0;
  let inFlight = 0;
  const slow: BatchStore = Object.assign(Object.create(store), {
    async writeTextAtomic(path: string, content: string) {
      inFlight += 1;
      expect(inFlight).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 5));
      writes += 1;
      await store.writeTextAtomic(path, content);
      inFlight -= 1;
    },
  });
  const writer = new ManifestWriter(slow, 'b', manifest());
  const updates = Array.from({ length: 100 }, (_, i) =>
    writer.update((m) => {
      m.replicas[0].observed = { status: `s${i}` };
    }),
  );
  await Promise.all(updates);
  await writer.flush();
  expect(JSON.parse(await store.readText('b/batch.json')).replicas[0].observed.status).toBe('s99');
  expect(writes).toBeLessThanOrEqual(3);
});

test('a manifest of another kind is refused with the reason', () => {
  expect(() => parseManifest('{"schema":"other"}', 'x/batch.json')).toThrow(
    /x\/batch.json is not a batch manifest/,
  );
  expect(() => parseManifest('{', 'x/batch.json')).toThrow(/not valid JSON/);
});

test('the memory store never overwrites with writeTextExclusive and lists batch folders newest first', async () => {
  const store = new MemoryBatchStore('/arc/home/u');
  await store.writeTextExclusive('a/canfar-batches/20260101-000000-aaaa/batch.json', '{}');
  await store.writeTextExclusive('a/canfar-batches/20260102-000000-bbbb/batch.json', '{}');
  await store.mkdirp('a/canfar-batches/not-a-batch');
  await expect(
    store.writeTextExclusive('a/canfar-batches/20260101-000000-aaaa/batch.json', '{"x":1}'),
  ).rejects.toMatchObject({ code: 'exists' });
  expect(await store.readText('a/canfar-batches/20260101-000000-aaaa/batch.json')).toBe('{}');
  expect(await listBatchFolders(store, 'a')).toEqual([
    'a/canfar-batches/20260102-000000-bbbb',
    'a/canfar-batches/20260101-000000-aaaa',
  ]);
  expect(store.absolutePath('a/b')).toBe('/arc/home/u/a/b');
  expect(joinPath('/x', 'y/../z', './w')).toBe('/x/z/w');
});

test('a re-run goes beside its parent: same notebook folder, so the same canfar-batches/', async () => {
  const store = new MemoryBatchStore('/arc/home/u');
  const folder = batchFolder('work/sweep.ipynb', '20260721-180921-abcd');
  await store.writeTextExclusive(
    joinPath(folder, 'batch.json'),
    JSON.stringify({
      schema: MANIFEST_SCHEMA,
      batchId: '20260721-180921-abcd',
      name: 'sweep',
      replicaCount: 2,
      image: 'images.canfar.net/skaha/astroml:latest',
      resources: {},
      notebook: { path: 'work/sweep.ipynb' },
      script: { file: 'script.py', policy: 'translate' },
      replicas: [{ replica: 1, name: 'sweep-1' }],
    }),
  );
  await store.writeTextExclusive(joinPath(folder, 'script.py'), 'print(1)');
  const input = await rerunInput(store, folder);
  expect(input.notebookPath).toBe('work/sweep.ipynb');
  expect(input.rerun?.script).toBe('print(1)');
});

test('the failing cell and the error, read from a replica log', () => {
  const log = [
    'run.sh: batch b replica 3/3 on host, started 2026-07-21T18:09:21Z',
    'canfar: cell 1/2 [cell 2 id=c2]',
    'replica 3 starts',
    'canfar: cell 2/2 [cell 4 id=c4]',
    'Traceback (most recent call last):',
    '  File "/arc/x/script.py", line 300, in <module>',
    '    inverse = 1 / data[replica]',
    'ZeroDivisionError: float division by zero',
    'canfar: cell 4 id=c4 failed with ZeroDivisionError: float division by zero (raised at cell 4 id=c4, line 1 of the cell)',
  ].join('\n');
  expect(summarizeFailure(log)).toMatchObject({
    cell: 4,
    cellLabel: 'cell 4 id=c4',
    error: 'ZeroDivisionError: float division by zero',
  });
  // Without the script's own summary line: the last progress line and the traceback.
  expect(summarizeFailure(log.split('\n').slice(0, -1).join('\n'))).toMatchObject({
    cell: 4,
    error: 'ZeroDivisionError: float division by zero',
  });
  expect(summarizeFailure('nothing useful\n')).toEqual({ tail: ['nothing useful'] });
});

test('image pull errors in events', () => {
  expect(imagePullError([{ reason: 'Scheduled', message: 'ok' }])).toBeUndefined();
  expect(
    imagePullError([
      { reason: 'BackOff', message: 'Back-off pulling image' },
      { reason: 'ImagePullBackOff', message: 'Back-off pulling image "x"' },
    ]),
  ).toBe('ImagePullBackOff: Back-off pulling image "x"');
  expect(imagePullError([{ reason: 'Failed', message: 'Failed to pull image "x": not found' }])).toMatch(
    /^Failed: Failed to pull/,
  );
});

test('a batch for CANFAR outside /arc is planned with a warning', async () => {
  const { planBatch } = await import('./plan');
  const text = JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', language: 'python' } },
    cells: [
      { cell_type: 'code', id: 'a', metadata: {}, source: 'print(1)\n', outputs: [], execution_count: null },
    ],
  });
  const input = {
    notebookPath: 'nb.ipynb',
    notebookText: text,
    replicas: 2,
    image: 'images.canfar.net/skaha/astroml:latest',
    endpoint: 'https://ws-uv.canfar.net/skaha/v1',
  };
  const outside = await planBatch(input, {}, new MemoryBatchStore('/home/me'));
  expect(outside.warnings.join('\n')).toMatch(/not under \/arc/);
  const inside = await planBatch(input, {}, new MemoryBatchStore('/arc/home/me'));
  expect(inside.warnings.join('\n')).not.toMatch(/not under \/arc/);
  expect(inside.spec.args).toEqual([`/arc/home/me/${inside.folder}/run.sh`]);
});

describe('deleting a batch', () => {
  const id = '20260721-180921-abcd';
  const folder = batchFolder('work/sweep.ipynb', id);
  const files = ['script.py', 'run.sh', 'logs/replica-1.log', 'status/replica-1.json', 'outputs/r1.csv'];

  async function stored(): Promise<MemoryBatchStore> {
    const store = new MemoryBatchStore('/arc/home/u');
    await store.writeTextExclusive(
      joinPath(folder, 'batch.json'),
      JSON.stringify({
        ...manifest(),
        batchId: id,
        name: 'sweep',
        launch: { state: 'launched' },
        replicas: [
          { replica: 1, name: 'sweep-1', launch: { state: 'launched', sessionId: 'aaa1', attempts: 1 } },
          { replica: 2, name: 'sweep-2', launch: { state: 'launched', sessionId: 'aaa2', attempts: 1 } },
        ],
      }),
    );
    for (const file of files) await store.writeTextExclusive(joinPath(folder, file), `content of ${file}`);
    return store;
  }

  /** The part of SkahaClient deleteBatch uses: DELETE /session/<id>, refused for the ids in `refuse`. */
  function client(refuse: string[] = []) {
    const deleted: string[] = [];
    const fake = {
      async delete(sessionId: string) {
        if (refuse.includes(sessionId)) throw new Error(`session ${sessionId}: 503 try later`);
        deleted.push(sessionId);
      },
    };
    return { deleted, client: fake as unknown as SkahaClient };
  }

  test('deletes every session, records deletedAt in batch.json and keeps every file', async () => {
    const store = await stored();
    const before = await readManifest(store, folder);
    const { deleted, client: skaha } = client();
    const at = new Date('2026-07-21T19:00:00Z');
    const report = await deleteAndHideBatch(skaha, store, folder, { now: at });
    expect(deleted.sort()).toEqual(['aaa1', 'aaa2']);
    expect(report).toMatchObject({ recorded: true, failed: [] });
    const after = await readManifest(store, folder);
    expect(after.deletedAt).toBe(at.toISOString());
    expect(isBatchDeleted(after)).toBe(true);
    // Nothing else changed in the manifest, and the user's files are all still there.
    expect({ ...after, deletedAt: undefined }).toEqual(before);
    expect(report.manifest).toEqual(after);
    expect(after.replicas).toHaveLength(2);
    for (const file of files) expect(await store.readText(joinPath(folder, file))).toBe(`content of ${file}`);
    // Listings leave it out; the folder itself is still found.
    expect(await listBatchFolders(store, 'work')).toEqual([folder]);
    expect(await undeletedBatchFolders(store, [folder])).toEqual([]);
    // Deleting again keeps the first date.
    await markBatchDeleted(store, folder, new Date('2030-01-01T00:00:00Z'));
    expect((await readManifest(store, folder)).deletedAt).toBe(at.toISOString());
  });

  test('a session that could not be deleted keeps the batch listed', async () => {
    const store = await stored();
    const { deleted, client: skaha } = client(['aaa2']);
    const report = await deleteAndHideBatch(skaha, store, folder);
    expect(deleted).toEqual(['aaa1']);
    expect(report.recorded).toBe(false);
    expect(report.failed).toEqual([
      { replica: 2, sessionId: 'aaa2', message: 'session aaa2: 503 try later' },
    ]);
    expect(isBatchDeleted(await readManifest(store, folder))).toBe(false);
    expect(await undeletedBatchFolders(store, [folder])).toEqual([folder]);
  });

  test("a monitor's later write of what it observed keeps the mark", async () => {
    const store = await stored();
    const observer = new ManifestWriter(store, folder, await readManifest(store, folder), 'observer');
    await markBatchDeleted(store, folder, new Date('2026-07-21T19:00:00Z'));
    await observer.update((m) => {
      m.replicas[0].observed = { status: 'Completed' };
    });
    const after = await readManifest(store, folder);
    expect(after.deletedAt).toBe('2026-07-21T19:00:00.000Z');
    expect(after.replicas[0].observed).toEqual({ status: 'Completed' });
  });
});
