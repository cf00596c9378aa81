// "Delete batch" through the CLI on the local server, over real HTTP with real processes: the sessions
// go, batch.json records the deletion, `batches` stops listing it (`--all` still does), and the batch
// folder keeps everything the replicas wrote.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { BatchManifest } from '../src/batch';
import { startTestServer } from './helpers/local';
import { runCli } from './helpers/cli';

jest.setTimeout(60_000);

/** Every file under `dir`, relative, sorted. */
function tree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

describe('canfar-lab batch delete', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let globals: string[];

  beforeAll(async () => {
    server = await startTestServer({ cores: 8, ramGB: 32 });
    dir = mkdtempSync(join(tmpdir(), 'canfar-batch-delete-'));
    env = { PATH: process.env.PATH, HOME: server.home, PWD: dir };
    globals = ['--url', server.server.url, '--token', server.server.token];
  });
  afterAll(async () => {
    await server.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('deletes the sessions, hides the batch from batches (not from --all) and keeps its files', async () => {
    const notebook = join(dir, 'squares.ipynb');
    const code = [
      'import os',
      "i = int(os.environ['REPLICA_ID'])",
      "os.makedirs(os.environ.get('CANFAR_OUTPUT_DIR', '.'), exist_ok=True)",
      "open(os.path.join(os.environ.get('CANFAR_OUTPUT_DIR', '.'), f'square-{i}.txt'), 'w').write(str(i * i))",
      "print('replica', i, 'squared', i * i)",
    ].join('\n');
    writeFileSync(
      notebook,
      JSON.stringify({
        nbformat: 4,
        nbformat_minor: 5,
        metadata: { kernelspec: { name: 'python3', language: 'python', display_name: 'Python 3' } },
        cells: [
          { cell_type: 'code', id: 'c1', metadata: {}, outputs: [], execution_count: null, source: code },
        ],
      }),
    );
    const run = await runCli(
      [...globals, 'submit', notebook, '-r', '2', '--name', 'squares', '--follow', '--interval', '0.2'],
      env,
    );
    expect(run.stderr).not.toMatch(/fail|error/i);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    const [batchId] = readdirSync(join(dir, 'canfar-batches'));
    const folder = join(dir, 'canfar-batches', batchId);
    const files = tree(folder);
    expect(files).toEqual(expect.arrayContaining(['logs/replica-1.log', 'status/replica-2.json']));
    const logs = files.filter((f) => f.startsWith('logs/')).map((f) => readFileSync(join(folder, f), 'utf8'));

    const listed = await runCli([...globals, '--json', 'batches', dir], env);
    expect(JSON.parse(listed.stdout).map((b: { batchId: string }) => b.batchId)).toEqual([batchId]);

    const deleted = await runCli([...globals, 'batch', 'delete', batchId, '--dir', dir, '-f'], env);
    expect(deleted.stderr).toBe('');
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toContain(`deleted 2 session(s) of batch ${batchId}`);
    expect(deleted.stdout).toContain(`batch ${batchId} is no longer listed (batches --all lists it)`);

    // The platform no longer lists (or is ending) the sessions.
    const sessions = await runCli([...globals, '--json', 'ps', '--all'], env);
    const left = JSON.parse(sessions.stdout) as { name: string; status: string }[];
    expect(left.filter((s) => s.name.startsWith('squares-') && s.status !== 'Terminating')).toEqual([]);

    // Recorded in batch.json; every file still there (batch.json itself rewritten, the logs unchanged).
    const manifest = JSON.parse(readFileSync(join(folder, 'batch.json'), 'utf8')) as BatchManifest;
    expect(Date.parse(manifest.deletedAt ?? '')).not.toBeNaN();
    expect(tree(folder)).toEqual(expect.arrayContaining(files));
    expect(
      files.filter((f) => f.startsWith('logs/')).map((f) => readFileSync(join(folder, f), 'utf8')),
    ).toEqual(logs);
    expect(logs.join('\n')).toContain('replica 2 squared 4');

    // Not listed any more, and said so; --all lists it, marked.
    const after = await runCli([...globals, 'batches', dir], env);
    expect(after.code).toBe(0);
    expect(after.stdout).not.toContain(batchId);
    expect(after.stderr).toContain('1 deleted batch(es) not listed (--all lists them)');
    const all = await runCli([...globals, 'batches', dir, '--all'], env);
    expect(all.stdout).toMatch(new RegExp(`${batchId}\\s+squares \\(deleted\\)`));
    const allJson = await runCli([...globals, '--json', 'batches', dir, '--all'], env);
    expect(JSON.parse(allJson.stdout)).toEqual([
      expect.objectContaining({ batchId, deletedAt: manifest.deletedAt }),
    ]);
    // By id it is still shown, with when it was deleted.
    const one = await runCli([...globals, 'batches', batchId, dir], env);
    expect(one.stdout).toContain(`deleted ${manifest.deletedAt}`);
  });
});
