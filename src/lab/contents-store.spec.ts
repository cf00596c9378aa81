/**
 * ContentsBatchStore against an in-memory stand-in for Jupyter's contents API that answers like
 * jupyter_server does (404 for a missing path, 500 when a file's folder is missing, 400 for hidden
 * paths unless allowed). The real server is exercised by the browser tests.
 */
import { ServerConnection } from '@jupyterlab/services';
import type { Contents } from '@jupyterlab/services';
import { batchFolder } from '../batch';
import { ContentsBatchStore } from './contents-store';

function fakeContents(options: { allowHidden?: boolean } = {}) {
  const files = new Map<string, string>();
  const folders = new Set<string>(['']);
  // Modification times as jupyter_server sends them (microseconds), one tick per write.
  const modified = new Map<string, string>();
  let clock = 0;
  const stamp = (path: string) =>
    modified.set(path, new Date(Date.UTC(2026, 7, 1, 10)).toISOString().replace('Z', `${++clock}Z`));
  const info = (path: string) => ({
    name: path.slice(path.lastIndexOf('/') + 1),
    path,
    ...(files.has(path)
      ? { type: 'file', last_modified: modified.get(path), size: files.get(path)!.length }
      : { type: 'directory', size: null }),
  });
  const requests: string[] = [];
  const fail = (status: number, message: string) =>
    new ServerConnection.ResponseError(new Response(message, { status }), message);
  const parent = (path: string) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');
  const manager = {
    async get(path: string, opts?: Contents.IFetchOptions) {
      requests.push(`GET ${path}${opts?.content === false ? ' (no content)' : ''}`);
      if (folders.has(path)) {
        const items = [...files.keys(), ...folders].filter((p) => p !== '' && parent(p) === path).map(info);
        return { type: 'directory', content: items };
      }
      if (files.has(path)) return { type: 'file', content: files.get(path) };
      throw fail(404, `No such file or directory: ${path}`);
    },
    async save(path: string, model: Partial<Contents.IModel>) {
      requests.push(`PUT ${path}`);
      if (!options.allowHidden && path.split('/').some((s) => s.startsWith('.'))) {
        throw fail(400, `Cannot create file or directory '/${path}'`);
      }
      if (!folders.has(parent(path))) throw fail(500, `Unexpected error while saving file: ${path}`);
      if (model.type === 'directory') folders.add(path);
      else {
        files.set(path, String(model.content));
        stamp(path);
      }
      return info(path);
    },
  };
  /** Another writer (a replica's run.sh) replaces a file. */
  const replace = (path: string, text: string) => {
    files.set(path, text);
    stamp(path);
  };
  return { manager: manager as unknown as Contents.IManager, files, folders, requests, replace };
}

describe('ContentsBatchStore', () => {
  it("writes a batch's files on a default Jupyter, creating their folders, and never overwrites", async () => {
    // allow_hidden False, as jupyter_server ships: the batch folder is not hidden, so it can be created.
    const { manager, files, requests } = fakeContents();
    expect(batchFolder('work/sweep.ipynb', 'b1')).toBe('work/canfar-batches/b1');
    const store = new ContentsBatchStore(manager, '/arc/home/jdoe');
    await store.writeTextExclusive('work/canfar-batches/b1/batch.json', '{}');
    await store.writeTextExclusive('work/canfar-batches/b1/run.sh', 'echo');
    expect(files.get('work/canfar-batches/b1/run.sh')).toBe('echo');
    await expect(
      store.writeTextExclusive('work/canfar-batches/b1/batch.json', '{"x":1}'),
    ).rejects.toMatchObject({
      code: 'exists',
    });
    await store.writeTextAtomic('work/canfar-batches/b1/batch.json', '{"x":2}');
    expect(await store.readText('work/canfar-batches/b1/batch.json')).toBe('{"x":2}');
    expect(await store.list('work/canfar-batches/b1')).toEqual(['batch.json', 'run.sh']);
    expect(store.absolutePath('work/canfar-batches/b1/run.sh')).toBe(
      '/arc/home/jdoe/work/canfar-batches/b1/run.sh',
    );
    // Existence comes from folder listings: nothing was fetched that could answer 404.
    expect(requests.filter((r) => r.startsWith('GET') && r.includes('(no content)'))).toEqual([]);
  });

  it('answers "missing" without asking for the missing path itself', async () => {
    const { manager, requests } = fakeContents();
    const store = new ContentsBatchStore(manager, '/root');
    expect(await store.exists('work/canfar-batches/b2')).toBe(false);
    expect(await store.list('work/canfar-batches')).toEqual([]);
    await expect(store.readText('nothing.txt')).rejects.toMatchObject({ code: 'not-found' });
    expect(requests.filter((r) => r.includes('canfar-batches'))).toEqual([]);
  });

  it("lists a folder's entries with their modification time and size in one request", async () => {
    const { manager, folders, requests, replace } = fakeContents();
    folders.add('b').add('b/status');
    // Written by the replicas' run.sh, not through this store.
    replace('b/status/replica-1.json', '{"state":"running"}');
    replace('b/status/replica-2.json', '{"state":"running"}');
    const store = new ContentsBatchStore(manager, '/root');
    const before = await store.listEntries('b/status');
    expect(before.map((e) => [e.name, e.type, e.size])).toEqual([
      ['replica-1.json', 'file', 19],
      ['replica-2.json', 'file', 19],
    ]);
    // One listing of the folder (and of its parents, to never ask for a missing one), no file read.
    expect(requests).toEqual(['GET ', 'GET b', 'GET b/status']);
    // A file this store writes shows its new version at once (the save answers it), without a listing.
    await store.writeTextAtomic('b/status/replica-2.json', '{"state":"finished"}');
    const written = await store.listEntries('b/status');
    expect(written[1].modified).not.toBe(before[1].modified);
    expect(written[1].size).toBe(20);
    expect(requests.filter((r) => r.startsWith('GET'))).toHaveLength(3);
    // A file replaced by someone else with one of the same size: the next poll's listing has its new time.
    replace('b/status/replica-1.json', '{"state":"finishe"}');
    jest.useFakeTimers({ now: Date.now() + 60_000, doNotFake: ['nextTick', 'setImmediate'] });
    try {
      const later = await store.listEntries('b/status');
      expect(later[0].size).toBe(19);
      expect(later[0].modified).not.toBe(before[0].modified);
    } finally {
      jest.useRealTimers();
    }
  });

  it('names the path and repeats what Jupyter said when it refuses a write', async () => {
    const { manager } = fakeContents();
    const store = new ContentsBatchStore(manager, '/root');
    await expect(store.writeTextExclusive('.hidden/b3/batch.json', '{}')).rejects.toThrow(
      "Could not create folder .hidden through the Jupyter contents API: Cannot create file or directory '/.hidden'.",
    );
  });
});
