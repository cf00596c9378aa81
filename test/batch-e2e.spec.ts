// End to end on the local server over real HTTP, with real processes: the demo notebook as 8 replicas,
// and a notebook whose cell fails in one replica. Driven through the CLI as a user would.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { BatchManifest, ReplicaStatusFile } from '../src/batch';
import { cliSuite } from './helpers/local';
import { expectExit } from './helpers/cli';

jest.setTimeout(60_000);

const repo = join(__dirname, '..');

describe('canfar-lab submit, end to end on the local server', () => {
  const suite = cliSuite('canfar-batch-e2e-', { cores: 16, ramGB: 64 });

  test('the chunk demo as 8 replicas: every input processed exactly once, files and manifest correct', async () => {
    const dir = join(suite.work, 'demo');
    mkdirSync(dir);
    copyFileSync(join(repo, 'examples/chunk-demo/demo.ipynb'), join(dir, 'demo.ipynb'));
    execFileSync(
      '/usr/bin/python3',
      [join(repo, 'examples/chunk-demo/make_inputs.py'), '--count', '30', '--values', '50'],
      { cwd: dir },
    );
    const inputs = readdirSync(join(dir, 'inputs')).sort();
    expect(inputs).toHaveLength(30);

    const run = await suite.follow(['submit', join(dir, 'demo.ipynb'), '-r', '8']);
    expect(run.stderr).not.toMatch(/failed/);
    expectExit(run, 0);
    expect(run.stdout).toMatch(/8\/8 replica\(s\) launched/);
    expect(run.stdout).toMatch(/8\/8 done/);

    const batches = readdirSync(join(dir, 'canfar-batches'));
    expect(batches).toHaveLength(1);
    const folder = join(dir, 'canfar-batches', batches[0]);
    const manifest = JSON.parse(readFileSync(join(folder, 'batch.json'), 'utf8')) as BatchManifest;
    expect(manifest.batchId).toBe(batches[0]);
    expect(manifest.replicaCount).toBe(8);
    expect(manifest.launch.state).toBe('launched');
    expect(manifest.notebook.path).toBe('demo.ipynb');
    expect(manifest.notebook.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.replicas.map((r) => r.launch?.state)).toEqual(Array(8).fill('launched'));
    expect(
      new Set(manifest.replicas.map((r) => (r.launch?.state === 'launched' ? r.launch.sessionId : ''))).size,
    ).toBe(8);
    expect(manifest.env.names).toContain('CANFAR_BATCH_ID');

    // Every input processed exactly once across replicas, each replica on its chunk() share.
    const processed: string[] = [];
    for (let i = 1; i <= 8; i++) {
      const mine = readFileSync(join(folder, `outputs/replica-${i}/processed.txt`), 'utf8')
        .split('\n')
        .filter(Boolean);
      // chunk(): 30 files / 8 replicas -> 3 each, the last replica 9.
      expect(mine).toEqual(inputs.slice((i - 1) * 3, i === 8 ? 30 : i * 3));
      processed.push(...mine);
      const status = JSON.parse(
        readFileSync(join(folder, `status/replica-${i}.json`), 'utf8'),
      ) as ReplicaStatusFile;
      expect(status).toMatchObject({ replica: i, state: 'finished', exitCode: 0, batchId: manifest.batchId });
      const launch = manifest.replicas[i - 1].launch;
      expect(status.sessionId).toBe(launch?.state === 'launched' ? launch.sessionId : 'none');
      expect(Date.parse(status.end!)).toBeGreaterThanOrEqual(Date.parse(status.start!));
      const log = readFileSync(join(folder, `logs/replica-${i}.log`), 'utf8');
      expect(log).toContain(`replica ${i}/8: ${mine.length} of 30 input files`);
    }
    expect(processed.sort()).toEqual(inputs);
    expect(readdirSync(join(dir, 'results')).sort()).toEqual(inputs.map((f) => f.replace('.txt', '.json')));

    // `batches` finds it and reports 8/8 completed.
    const list = await suite.cli(['--json', 'batches', manifest.batchId, join(dir, 'demo.ipynb')]);
    expect(list.code).toBe(0);
    const view = JSON.parse(list.stdout);
    expect(view.counts).toMatchObject({ total: 8, completed: 8, failed: 0 });
    expect(view.replicas.every((r: { exitCode: number }) => r.exitCode === 0)).toBe(true);
  });

  test('a failing cell: --follow exits 1 and names the replica and the cell', async () => {
    const dir = join(suite.work, 'failing');
    mkdirSync(dir);
    copyFileSync(join(repo, 'examples/failing-cell/failing.ipynb'), join(dir, 'failing.ipynb'));
    const run = await suite.follow(['submit', join(dir, 'failing.ipynb'), '-r', '3']);
    expectExit(run, 1);
    expect(run.stderr).toMatch(/1 of 3 replica\(s\) failed/);
    expect(run.stderr).toMatch(
      /replica 3 \(failing-[a-z0-9]{4}-3, session [a-z0-9]+\) failed with exit code 1 in cell 3: ZeroDivisionError/,
    );
    expect(run.stderr).not.toMatch(/replica [12] \(.*failed/);

    const [batchId] = readdirSync(join(dir, 'canfar-batches'));
    const folder = join(dir, 'canfar-batches', batchId);
    const status = JSON.parse(readFileSync(join(folder, 'status/replica-3.json'), 'utf8'));
    expect(status.exitCode).toBe(1);
    // The platform's own log and events were saved once the session ended.
    expect(existsSync(join(folder, 'logs/replica-3.platform.log'))).toBe(true);
    expect(readFileSync(join(folder, 'logs/replica-3.platform.log'), 'utf8')).toContain('ZeroDivisionError');

    // rerun-failed: only replica 3 again, as REPLICA_ID=3 of 3, in the same batch folder (attempt 2).
    const rerun = await suite.follow(['batch', 'rerun-failed', batchId, '--dir', dir]);
    expectExit(rerun, 1);
    expect(rerun.stderr).toMatch(/replica 3 .* in cell 3: ZeroDivisionError/);
    expect(readdirSync(join(dir, 'canfar-batches'))).toEqual([batchId]);
    const manifest = JSON.parse(readFileSync(join(folder, 'batch.json'), 'utf8')) as BatchManifest;
    expect(manifest.replicas.map((r) => r.history?.length ?? 0)).toEqual([0, 0, 1]);
    expect(JSON.parse(readFileSync(join(folder, 'status/replica-3.json'), 'utf8'))).toMatchObject({
      attempt: 2,
      exitCode: 1,
    });
    const log = readFileSync(join(folder, 'logs/replica-3.log'), 'utf8');
    expect(log.match(/replica 3\/3 on/g)).toHaveLength(2);
    expect(log.match(/==== canfar: attempt [12] of replica 3 /g)).toHaveLength(2);
  });
});
