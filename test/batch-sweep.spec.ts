// Parameter sweeps end to end on the local server over real HTTP, with real replica processes, driven
// through the CLI as a user would (issue 12): a 3 x 2 sweep with 2 shards per set, values typed in every
// replica, shards covering their set's items exactly once; the records and views of the sets; values
// with commas, `=`, quotes, newlines and non-ASCII arriving exactly.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { BatchManifest } from '../src/batch';
import { expectExit, runCli } from './helpers/cli';
import { cliSuite, startTestServer } from './helpers/local';
import { pythonNotebook } from './helpers/notebooks';

jest.setTimeout(120_000);

const SWEEP_NOTEBOOK = pythonNotebook([
  { source: 'threshold = 0.5\nmethod = "gaussian"\n', tags: ['parameters'] },
  {
    source: `import json, os
from canfar.helpers import distributed
items = list(range(20))
mine = list(distributed.chunk(items))
out = {
    "threshold": threshold, "threshold_type": type(threshold).__name__, "method": method,
    "set": int(os.environ["CANFAR_SET_ID"]), "shard": int(os.environ["REPLICA_ID"]),
    "replica": int(os.environ["CANFAR_BATCH_REPLICA_ID"]), "count": int(os.environ["CANFAR_BATCH_REPLICA_COUNT"]),
    "items": mine,
}
os.makedirs("results", exist_ok=True)
with open("results/set-%d-shard-%d.json" % (out["set"], out["shard"]), "w") as f:
    json.dump(out, f)
`,
  },
]);

describe('canfar-lab submit --sweep, end to end on the local server', () => {
  const suite = cliSuite('canfar-sweep-e2e-', { cores: 16, ramGB: 64 });

  test('3 x 2 values with -r 2: one output per (set, shard), typed values, each set covered once by its shards', async () => {
    const dir = join(suite.work, 'grid');
    mkdirSync(dir);
    writeFileSync(join(dir, 'nb.ipynb'), SWEEP_NOTEBOOK);
    const sweep = ['--sweep', 'threshold=0.1,0.5,0.9', '--sweep', 'method=gaussian,box', '-r', '2'];

    const dry = await suite.cli(['submit', join(dir, 'nb.ipynb'), ...sweep, '--name', 'grid', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('Would launch 12 replica(s)');
    expect(dry.stdout).toContain('6 parameter set(s) x 2 shard(s):');
    expect(dry.stdout.split('\n').filter((l) => /^\d+ {2}/.test(l))).toEqual([
      '1    0.1        gaussian  grid-1-1 grid-1-2',
      '2    0.1        box       grid-2-1 grid-2-2',
      '3    0.5        gaussian  grid-3-1 grid-3-2',
      '4    0.5        box       grid-4-1 grid-4-2',
      '5    0.9        gaussian  grid-5-1 grid-5-2',
      '6    0.9        box       grid-6-1 grid-6-2',
    ]);
    expect(readdirSync(dir)).toEqual(['nb.ipynb']);

    const run = await suite.follow(['submit', join(dir, 'nb.ipynb'), ...sweep, '--name', 'grid']);
    expectExit(run, 0);
    expect(run.stdout).toMatch(/12\/12 replica\(s\) launched/);

    const expected = [
      [0.1, 'gaussian'],
      [0.1, 'box'],
      [0.5, 'gaussian'],
      [0.5, 'box'],
      [0.9, 'gaussian'],
      [0.9, 'box'],
    ];
    expect(readdirSync(join(dir, 'results'))).toHaveLength(12);
    for (const [index, [threshold, method]] of expected.entries()) {
      const set = index + 1;
      const shards = [1, 2].map((shard) =>
        JSON.parse(readFileSync(join(dir, `results/set-${set}-shard-${shard}.json`), 'utf8')),
      );
      for (const [k, out] of shards.entries()) {
        expect(out).toMatchObject({
          threshold,
          threshold_type: 'float',
          method,
          set,
          shard: k + 1,
          replica: (set - 1) * 2 + k + 1,
          count: 12,
        });
      }
      // chunk() with REPLICA_ID = shard and REPLICA_COUNT = 2: the set's 20 items, each exactly once.
      expect([...shards[0].items, ...shards[1].items]).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(shards[0].items).toHaveLength(10);
    }

    const [batchId] = readdirSync(join(dir, 'canfar-batches'));
    const folder = join(dir, 'canfar-batches', batchId);
    const manifest = JSON.parse(readFileSync(join(folder, 'batch.json'), 'utf8')) as BatchManifest;
    expect(manifest.sweep).toEqual({
      parameters: ['threshold', 'method'],
      shards: 2,
      sets: expected.map(([t, m]) => ({ threshold: String(t), method: m })),
    });
    expect(manifest.replicas.map((r) => [r.replica, r.name, r.set, r.shard])).toEqual(
      Array.from({ length: 12 }, (_, i) => [
        i + 1,
        `grid-${Math.floor(i / 2) + 1}-${(i % 2) + 1}`,
        Math.floor(i / 2) + 1,
        (i % 2) + 1,
      ]),
    );
    // Sessions on the server carry the sweep names.
    const names = (await suite.server.api.list('?type=headless')).map((s) => s.name).sort();
    expect(names).toEqual(manifest.replicas.map((r) => r.name).sort());

    // A row per set: values as columns, states, exit codes, log paths; the text table has parameter columns.
    const json = await suite.cli(['--json', 'batches', batchId, join(dir, 'nb.ipynb')]);
    expect(json.code).toBe(0);
    const view = JSON.parse(json.stdout);
    expect(view.sets).toHaveLength(6);
    expect(view.sets[3]).toEqual({
      set: 4,
      threshold: '0.5',
      method: 'box',
      replicas: [7, 8],
      states: ['completed', 'completed'],
      exitCodes: [0, 0],
      attempts: [1, 1],
      logs: [join(folder, 'logs/replica-7.log'), join(folder, 'logs/replica-8.log')],
      ok: true,
    });
    const text = await suite.cli(['batches', batchId, join(dir, 'nb.ipynb')]);
    const header = text.stdout.split('\n').find((l) => l.startsWith('REPLICA'))!;
    expect(header.split(/\s+/).slice(0, 6)).toEqual([
      'REPLICA',
      'SET',
      'SHARD',
      'threshold',
      'method',
      'NAME',
    ]);
    expect(text.stdout).toMatch(/\n\s+8\s+4\s+2\s+0\.5\s+box\s+grid-4-2\s/);
  });

  test('bad sweeps are refused before anything is written or sent, every problem named', async () => {
    const dir = join(suite.work, 'bad');
    mkdirSync(dir);
    writeFileSync(join(dir, 'nb.ipynb'), SWEEP_NOTEBOOK);
    writeFileSync(join(dir, 'sets.csv'), 'threshold,method\n0.1,a\n0.10,a\nhigh,b\n');
    const before = (await suite.server.api.list()).length;
    const file = await suite.cli(['submit', join(dir, 'nb.ipynb'), '--sweep-file', join(dir, 'sets.csv')]);
    expect(file.code).toBe(2);
    expect(file.stderr).toContain(
      'sweep threshold = "high": must be a number (the default in the notebook is a float)',
    );
    const axes = await suite.cli([
      'submit',
      join(dir, 'nb.ipynb'),
      '--sweep',
      'thresold=1,2',
      '--sweep',
      'method=',
      '-r',
      '200',
      '--sweep',
      'threshold=1,2,3',
    ]);
    expect(axes.code).toBe(2);
    expect(axes.stderr).toMatch(
      /sweep thresold: thresold is not a parameter of the notebook \(its parameters cell declares: threshold, method\)/,
    );
    expect(axes.stderr).toContain('sweep method: the list of values of method is empty');
    const big = await suite.cli([
      'submit',
      join(dir, 'nb.ipynb'),
      '--sweep',
      `threshold=${Array.from({ length: 300 }, (_, i) => i).join(',')}`,
      '-r',
      '2',
    ]);
    expect(big.stderr).toContain(
      '300 set(s) x 2 shard(s) = 600 sessions, more than the 512 a batch may launch: split it into 2 batches of at most 256 set(s) each',
    );
    const dup = await suite.cli(['submit', join(dir, 'nb.ipynb'), '--sweep', 'threshold=0.5,.5']);
    expect(dup.stderr).toContain('sets 1 and 2 are the same (threshold=.5');
    expect(readdirSync(dir).sort()).toEqual(['nb.ipynb', 'sets.csv']);
    expect((await suite.server.api.list()).length).toBe(before);
  });

  test('a value with commas given as a JSON list arrives exactly; unchanged values are not sent', async () => {
    const dir = join(suite.work, 'commas');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'nb.ipynb'),
      pythonNotebook([
        { source: 'label = "plain"\nsteps = 3\n', tags: ['parameters'] },
        {
          source:
            'import os, json\nprint(json.dumps({"label": label, "steps": steps, "sent": sorted(k for k in os.environ if k.startswith("CANFAR_PARAM_"))}))\n',
        },
      ]),
    );
    const run = await suite.follow([
      'submit',
      join(dir, 'nb.ipynb'),
      '--sweep',
      'label=["a,b", "plain", "c d"]',
      '--param',
      'steps=3',
    ]);
    expectExit(run, 0);
    const [batchId] = readdirSync(join(dir, 'canfar-batches'));
    const printed = [1, 2, 3].map((i) => {
      const log = readFileSync(join(dir, 'canfar-batches', batchId, `logs/replica-${i}.log`), 'utf8');
      return JSON.parse(log.split('\n').find((l) => l.startsWith('{'))!);
    });
    expect(printed).toEqual([
      { label: 'a,b', steps: 3, sent: ['CANFAR_PARAM_label'] },
      { label: 'plain', steps: 3, sent: [] },
      { label: 'c d', steps: 3, sent: ['CANFAR_PARAM_label'] },
    ]);
  });

  test('a string with =, quotes, a newline and non-ASCII arrives exactly, given with --param and with --sweep', async () => {
    const dir = join(suite.work, 'exact');
    mkdirSync(dir);
    const value = 'SELECT * FROM t WHERE x=1 AND name = "O\'Brien"\nüñï ✓';
    writeFileSync(
      join(dir, 'nb.ipynb'),
      pythonNotebook([
        { source: 'QUERY = "SELECT * FROM t WHERE x=1"\nother = "x"\n', tags: ['parameters'] },
        { source: 'import json\nprint("VALUE", json.dumps([QUERY, other]))\n' },
      ]),
    );
    const run = await suite.follow([
      'submit',
      join(dir, 'nb.ipynb'),
      '--param',
      `other=${value}`,
      '--sweep',
      `QUERY=${JSON.stringify([value, 'SELECT * FROM t WHERE x=1'])}`,
    ]);
    expectExit(run, 0);
    const [batchId] = readdirSync(join(dir, 'canfar-batches'));
    const printed = [1, 2].map((i) => {
      const log = readFileSync(join(dir, 'canfar-batches', batchId, `logs/replica-${i}.log`), 'utf8');
      return JSON.parse(
        log
          .split('\n')
          .find((l) => l.startsWith('VALUE '))!
          .slice(6),
      );
    });
    expect(printed).toEqual([
      [value, value],
      ['SELECT * FROM t WHERE x=1', value],
    ]);
  });
});

describe('examples/parameter-grid as a batch', () => {
  test('the example notebook swept 3 x 2 with -r 2: one combine writes every combination, each over the whole field', async () => {
    const server = await startTestServer({ cores: 16, ramGB: 64 });
    const dir = mkdtempSync(join(tmpdir(), 'canfar-grid-example-'));
    try {
      writeFileSync(
        join(dir, 'grid.ipynb'),
        readFileSync(join(__dirname, '../examples/parameter-grid/grid.ipynb')),
      );
      const run = await runCli(
        [
          '--url',
          server.server.url,
          '--token',
          server.server.token,
          'submit',
          join(dir, 'grid.ipynb'),
          '--sweep',
          'threshold=2,3,4',
          '--sweep',
          'method=mean,median',
          '-r',
          '2',
          '--follow',
          '--interval',
          '0.2',
        ],
        { PATH: process.env.PATH, HOME: server.home },
      );
      expectExit(run, 0);
      const summary = JSON.parse(readFileSync(join(dir, 'results/summary.json'), 'utf8'));
      expect(
        summary.map((row: { threshold: number; method: string }) => [row.threshold, row.method]),
      ).toEqual([
        [2, 'mean'],
        [2, 'median'],
        [3, 'mean'],
        [3, 'median'],
        [4, 'mean'],
        [4, 'median'],
      ]);
      // Floats, as the notebook's default: the outputs' folders say so.
      expect(readdirSync(join(dir, 'results')).sort()[0]).toBe('summary.json');
      expect(readdirSync(join(dir, 'results'))).toContain('threshold-2.0-method-mean');
      for (const row of summary) expect(row).toMatchObject({ shards: 2, positions: 240 });
      expect(summary[0]).toMatchObject({ detected: 51, true_positives: 48, false_positives: 3 });
    } finally {
      await server.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
