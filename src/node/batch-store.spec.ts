// The file system store's listing with versions, as the monitor uses it to read only the status files
// that changed: run.sh replaces them with a rename, sometimes twice within one tick of the file
// system's coarse clock.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entryVersion } from '../batch';
import { NodeBatchStore } from './batch-store';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'canfar-store-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

test('listEntries: files and folders with size, and a new version at every atomic replacement, even of equal size', async () => {
  const store = new NodeBatchStore(root);
  await store.writeTextAtomic('b/status/replica-1.json', '{"state":"running"}\n');
  await store.mkdirp('b/status/sub');
  const entries = await store.listEntries('b/status');
  expect(entries.map((e) => [e.name, e.type])).toEqual([
    ['replica-1.json', 'file'],
    ['sub', 'directory'],
  ]);
  expect(entries[0].size).toBe(20);
  expect(await store.listEntries('b/nothing')).toEqual([]);

  // As run.sh does it (a temporary file, then mv), back to back: the clock often shows the same time.
  const file = join(root, 'b/status/replica-1.json');
  let last = entryVersion(entries[0]);
  for (let i = 0; i < 200; i++) {
    writeFileSync(`${file}.tmp`, `{"state":"runnin${i % 2}"}\n`);
    renameSync(`${file}.tmp`, file);
    const [entry] = await store.listEntries('b/status');
    expect(entry.size).toBe(20);
    const version = entryVersion(entry);
    expect(version).not.toBe(last);
    last = version;
  }
});
