// The notebooks of examples/kernels executed FOR REAL in the Deno and tslab kernels (Debian's
// `jupyter nbconvert --execute`) against a local server, then their saved outputs read as a user would
// see them: HTML tables present and escaped, JSON data right, the live table updated in place, and the
// batch of 4 (replica-chunk.ipynb, split with chunk()) processing every input exactly once.
//
// Needs the kernels installed (scripts/test-kernels.sh, `npm run test:kernels`, does it and sets
// CANFAR_TEST_KERNELS=1) and a build (dist/), which the kernels load through node_modules: this checkout,
// or, with CANFAR_KERNELS_PACKAGE_ROOT=<folder>, the package npm installed in <folder>/node_modules (the
// npm tarball, as users get it: scripts/test-npm-pack.sh).
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

import { chunk } from '../src/distributed';
import { startLocalServer, type LocalServer } from '../src/node/local';

const repo = join(__dirname, '..');
const packageRoot = process.env.CANFAR_KERNELS_PACKAGE_ROOT;
const kernelsDir =
  process.env.CANFAR_KERNELS_DIR ??
  join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'jupyterlab-canfar', 'kernels');
const bin = (name: string) => join(kernelsDir, 'node_modules', '.bin', name);
const enabled = process.env.CANFAR_TEST_KERNELS === '1';
// Optional: ijavascript needs libzmq3-dev to build; scripts/test-kernels.sh installs it only when present.
const ijavascriptKernel = join(kernelsDir, 'node_modules', 'ijavascript', 'lib', 'kernel.js');
const withIJavascript = existsSync(ijavascriptKernel);

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}
interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: Output[];
}

const joinText = (value: unknown) => (Array.isArray(value) ? value.join('') : String(value ?? ''));
const source = (cell: Cell) => joinText(cell.source);

function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }) {
  // Asynchronous: the local server answering the kernels lives in this process.
  return new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    execFile(
      command,
      args,
      { ...options, maxBuffer: 64 << 20, timeout: 180_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stderr}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

/** The code cell whose source contains `marker`, from an executed notebook. */
function cellWith(cells: Cell[], marker: string): Cell {
  const found = cells.find((cell) => cell.cell_type === 'code' && source(cell).includes(marker));
  if (!found) throw new Error(`no code cell contains ${JSON.stringify(marker)}`);
  return found;
}

/** The rich outputs (execute_result, display_data) of a cell. */
const rich = (cell: Cell) =>
  (cell.outputs ?? []).filter((o) => o.output_type === 'execute_result' || o.output_type === 'display_data');
const html = (output: Output) => joinText(output.data?.['text/html']);
const json = (output: Output) => output.data?.['application/json'] as Record<string, unknown> | undefined;
const streams = (cell: Cell) =>
  (cell.outputs ?? [])
    .filter((o) => o.output_type === 'stream')
    .map((o) => joinText(o.text))
    .join('');

/** No markup from data in any HTML output: the only tags are our table's. */
function expectNoInjectedMarkup(cells: Cell[]) {
  for (const cell of cells) {
    for (const output of rich(cell)) {
      const text = html(output);
      expect(text).not.toMatch(/<script|<\/script|onerror=|javascript:/i);
    }
  }
}

const INPUTS = Array.from({ length: 30 }, (_, i) => `field-${String(i + 1).padStart(2, '0')}`);

/** The batch of 4 from replica-chunk.ipynb: each replica processed exactly its chunk, each input once. */
function expectExactlyOnce(work: string, batchId: string) {
  const processed = join(work, 'processed', batchId);
  const markers = readdirSync(processed).sort();
  expect(markers).toEqual(INPUTS);
  const folder = join(work, 'canfar-batches', batchId);
  const seen: string[] = [];
  for (let replica = 1; replica <= 4; replica++) {
    const log = readFileSync(join(folder, 'logs', `replica-${replica}.log`), 'utf8');
    const mine = [...log.matchAll(/^processed (field-\d+)$/gm)].map((m) => m[1]);
    expect(mine).toEqual(chunk(INPUTS, replica, 4));
    for (const input of mine)
      expect(readFileSync(join(processed, input), 'utf8')).toBe(`replica ${replica}\n`);
    seen.push(...mine);
    const status = JSON.parse(readFileSync(join(folder, 'status', `replica-${replica}.json`), 'utf8'));
    expect(status.exitCode).toBe(0);
  }
  expect(seen.sort()).toEqual(INPUTS);
}

const missing = [
  bin('tslab'),
  bin('deno'),
  packageRoot
    ? join(packageRoot, 'node_modules/jupyterlab-canfar/dist/node/index.cjs')
    : join(repo, 'dist/node/index.cjs'),
].filter((p) => !existsSync(p));

if (!enabled || missing.length > 0) {
  const reason = !enabled
    ? 'set CANFAR_TEST_KERNELS=1 (npm run test:kernels installs tslab and deno, builds, and runs this)'
    : `missing ${missing.join(', ')}: run npm run test:kernels`;
  if (enabled) {
    test('the kernels are installed', () => {
      throw new Error(`CANFAR_TEST_KERNELS=1 but ${reason}`);
    });
  } else {
    test.skip(`notebooks in real Deno and tslab kernels: skipped, ${reason}`, () => undefined);
  }
} else {
  describe('examples/kernels executed in real Deno and tslab kernels against the local server', () => {
    let tmp: string;
    let work: string;
    let server: LocalServer;
    let env: NodeJS.ProcessEnv;
    const executed: Record<string, Cell[]> = {};

    jest.setTimeout(240_000);

    beforeAll(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'canfar-kernels-'));
      // A notebook folder as a user has it: the notebooks, deno.json, and the package in node_modules.
      work = join(tmp, 'work');
      mkdirSync(work);
      for (const file of readdirSync(join(repo, 'examples/kernels')))
        cpSync(join(repo, 'examples/kernels', file), join(work, file));
      if (packageRoot) {
        // The installed tarball with its dependencies, as npm laid them out.
        symlinkSync(join(packageRoot, 'node_modules'), join(work, 'node_modules'));
        mkdirSync(join(work, 'node_modules', '@types'), { recursive: true });
      } else {
        mkdirSync(join(work, 'node_modules', '@types'), { recursive: true });
        symlinkSync(repo, join(work, 'node_modules', 'jupyterlab-canfar'));
      }
      // tslab type-checks cells with the project's types (console, process).
      if (!existsSync(join(work, 'node_modules/@types/node')))
        symlinkSync(join(repo, 'node_modules/@types/node'), join(work, 'node_modules/@types/node'));

      // Kernel specs in a private JUPYTER_PATH: nothing is registered for the user.
      const kernels = join(tmp, 'jupyter', 'kernels');
      for (const [name, argv, display] of [
        ['tslab', [bin('tslab'), 'kernel', '--config-path', '{connection_file}'], 'TypeScript'],
        ['jslab', [bin('tslab'), 'kernel', '--config-path', '{connection_file}', '--js'], 'JavaScript'],
        ['deno', [bin('deno'), 'jupyter', '--kernel', '--conn', '{connection_file}'], 'Deno'],
        [
          'javascript',
          [process.execPath, ijavascriptKernel, '--hide-undefined', '{connection_file}', '--protocol=5.0'],
          'JavaScript (ijavascript)',
        ],
      ] as const) {
        mkdirSync(join(kernels, name), { recursive: true });
        writeFileSync(
          join(kernels, name, 'kernel.json'),
          JSON.stringify({
            argv,
            display_name: display,
            language: name === 'jslab' || name === 'javascript' ? 'javascript' : 'typescript',
          }),
        );
      }

      const data = join(tmp, 'data');
      server = await startLocalServer({
        port: 0,
        // Where connect() finds it for `local`: $XDG_DATA_HOME/jupyterlab-canfar/local/server.json.
        stateDir: join(data, 'jupyterlab-canfar', 'local'),
        home: work,
        cores: 4,
        ramGB: 16,
      });
      env = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        LANG: 'C.UTF-8',
        XDG_DATA_HOME: data,
        CANFAR_URL: 'local',
        JUPYTER_PATH: join(tmp, 'jupyter'),
        JUPYTER_DATA_DIR: join(tmp, 'jupyter-data'),
        JUPYTER_RUNTIME_DIR: join(tmp, 'jupyter-runtime'),
        JUPYTER_CONFIG_DIR: join(tmp, 'jupyter-config'),
        DENO_DIR: join(tmp, 'deno-cache'),
        NO_COLOR: '1',
      };
      const notebooks = ['deno.ipynb', 'tslab.ipynb', ...(withIJavascript ? ['ijavascript.ipynb'] : [])];
      for (const notebook of notebooks) {
        await run(
          '/usr/bin/jupyter',
          [
            'nbconvert',
            '--to',
            'notebook',
            '--execute',
            '--ExecutePreprocessor.timeout=120',
            '--output',
            notebook.replace('.ipynb', '.out.ipynb'),
            notebook,
          ],
          { cwd: work, env },
        );
        executed[notebook] = JSON.parse(
          readFileSync(join(work, notebook.replace('.ipynb', '.out.ipynb')), 'utf8'),
        ).cells as Cell[];
      }
    });

    afterAll(async () => {
      await server?.close();
      if (tmp && !process.env.CANFAR_KEEP_KERNEL_OUTPUTS) rmSync(tmp, { recursive: true, force: true });
      else if (tmp) console.log(`kernel test outputs kept in ${tmp}`);
    });

    test('Deno: results render as HTML tables with the right JSON data', () => {
      const cells = executed['deno.ipynb'];
      const submitted = rich(cellWith(cells, "submit('replica-chunk.ipynb'"));
      expect(submitted).toHaveLength(1);
      expect(html(submitted[0])).toContain('<table data-canfar="submit"');
      const submission = json(submitted[0]) as {
        batchId: string;
        launched: number;
        outcomes: { name: string }[];
      };
      expect(submission.launched).toBe(4);
      expect(submission.outcomes).toHaveLength(4);

      const sessions = rich(cellWith(cells, "sessions({ kind: 'headless' })"))[0];
      expect(html(sessions)).toContain('<table data-canfar="sessions"');
      const listed = (json(sessions) as { sessions: { name: string; type: string }[] }).sessions;
      expect(listed.map((s) => s.name).sort()).toEqual(
        [...submission.outcomes.map((o) => o.name), 'deno-echo'].sort(),
      );
      expect(listed.every((s) => s.type === 'headless')).toBe(true);

      const template = rich(cellWith(cells, 'canfar`ps --status Completed`'))[0];
      expect(html(template)).toContain('<table data-canfar="sessions"');
      const completed = (json(template) as { sessions: { status: string }[] }).sessions;
      expect(completed).toHaveLength(5);
      expect(completed.every((s) => s.status === 'Completed')).toBe(true);
    });

    test("Deno: a cell's last value renders through Symbol.for('Jupyter.display') when the kernel delivers it", () => {
      const cells = executed['deno.ipynb'];
      // Deno 2.9 sometimes publishes execute_result after reporting idle, and nbconvert drops it; when it
      // arrived, it must be our bundle.
      const delivered = [cellWith(cells, 'kernelKind()'), cellWith(cells, 'await stats()')]
        .map((cell) => rich(cell)[0])
        .filter(Boolean);
      for (const output of delivered) expect(Object.keys(output.data ?? {})).toContain('text/plain');
      const stats = rich(cellWith(cells, 'await stats()'))[0];
      if (stats) {
        expect(html(stats)).toContain('<table data-canfar="stats"');
        expect((json(stats) as { cores: { available: number } }).cores.available).toBe(4);
      }
      console.log(`Deno execute_result delivered for ${delivered.length} of 2 cells`);
    });

    test('Deno: watch() leaves ONE table, updated in place to the final state; the batch ran each input once', () => {
      const cells = executed['deno.ipynb'];
      const watchCell = cellWith(cells, 'await watch(batch');
      const tables = rich(watchCell).filter((o) => html(o).includes('data-canfar="batch"'));
      expect(tables).toHaveLength(1);
      const final = json(tables[0]) as { done: boolean; counts: { completed: number; total: number } };
      expect(final.done).toBe(true);
      expect(final.counts).toMatchObject({ completed: 4, total: 4 });
      expect(html(tables[0]).match(/>completed</g)).toHaveLength(4);

      const submission = json(rich(cellWith(cells, "submit('replica-chunk.ipynb'"))[0]) as {
        batchId: string;
      };
      expectExactlyOnce(work, submission.batchId);

      const listing = json(rich(cellWith(cells, 'await batches()'))[0]) as { batches: { batchId: string }[] };
      expect(listing.batches.map((b) => b.batchId)).toContain(submission.batchId);
    });

    test('Deno: log and event text with markup is escaped; follow yields the whole log once', () => {
      const cells = executed['deno.ipynb'];
      const followed = rich(cellWith(cells, 'for await (const chunk of logs(echo.ids[0]'))[0];
      expect(joinText(followed.data?.['text/plain'])).toBe('<script>alert("canfar")</script> & done\n');
      const events = rich(cellWith(cells, 'await events(echo.ids[0])'))[0];
      expect(html(events)).toContain('<table data-canfar="events"');
      expect(html(events)).toContain(
        'echo &lt;script&gt;alert(&quot;canfar&quot;)&lt;/script&gt; &amp; done',
      );
      const log = rich(cellWith(cells, 'await logs(batch.outcomes[0]'))[0];
      expect(html(log)).toContain('<pre data-canfar="log"');
      expect(joinText(log.data?.['text/plain'])).toMatch(/^processed field-01$/m);
      expectNoInjectedMarkup(cells);
    });

    test('tslab: display() shows HTML + JSON + text; logs are escaped; watch() updates one table in place', () => {
      const cells = executed['tslab.ipynb'];
      expect(streams(cellWith(cells, 'kernelKind()'))).toContain('tslab');

      const launched = rich(cellWith(cells, "name: 'tslab-echo'"));
      expect(launched).toHaveLength(1);
      expect(html(launched[0])).toContain('<table data-canfar="launch"');
      expect((json(launched[0]) as { outcomes: { ok: boolean }[] }).outcomes.map((o) => o.ok)).toEqual([
        true,
        true,
      ]);
      expect(joinText(launched[0].data?.['text/plain'])).toMatch(/2 of 2 replica\(s\) launched/);

      // Following prints each replica's line once, in full.
      const followed = streams(cellWith(cells, 'logs(id, { follow: true'));
      expect(followed.match(/<script>alert\("canfar"\)<\/script> & done/g)).toHaveLength(2);

      const log = rich(cellWith(cells, 'await display(await logs('))[0];
      expect(html(log)).toBe(
        '<pre data-canfar="log" style="white-space:pre-wrap;margin:0">&lt;script&gt;alert(&quot;canfar&quot;)&lt;/script&gt; &amp; done\n</pre>',
      );
      expect(json(log)).toMatchObject({ log: '<script>alert("canfar")</script> & done\n' });

      const events = rich(cellWith(cells, 'await display(await events('))[0];
      expect(html(events)).toContain('&lt;script&gt;');

      const sessions = json(rich(cellWith(cells, 'await display(await sessions('))[0]) as {
        sessions: { name: string }[];
      };
      expect(sessions.sessions.map((s) => s.name)).toEqual(
        expect.arrayContaining(['tslab-echo-1', 'tslab-echo-2']),
      );
      expect(html(rich(cellWith(cells, 'await display(await stats())'))[0])).toContain(
        '<table data-canfar="stats"',
      );

      const submitted = json(rich(cellWith(cells, 'canfar`submit replica-chunk.ipynb'))[0]) as {
        batchId: string;
        launched: number;
      };
      expect(submitted.launched).toBe(4);
      const watchCell = cellWith(cells, 'await watch(batch');
      const tables = rich(watchCell).filter((o) => html(o).includes('data-canfar="batch"'));
      expect(tables).toHaveLength(1);
      expect(json(tables[0])).toMatchObject({ done: true, counts: { completed: 4, total: 4 } });
      expect(streams(watchCell)).toMatch(/4\/4 done/);
      expectExactlyOnce(work, submitted.batchId);
      expectNoInjectedMarkup(cells);
    });

    (withIJavascript ? test : test.skip)(
      `ijavascript: _toMime() bundles through $$.sendResult, watch() updates one table${withIJavascript ? '' : ' (skipped: ijavascript not installed, it needs libzmq3-dev)'}`,
      () => {
        const cells = executed['ijavascript.ipynb'];
        expect(joinText(rich(cellWith(cells, 'kernelKind()'))[0].data?.['text/plain'])).toContain(
          'ijavascript',
        );
        const stats = rich(cellWith(cells, 'canfar.stats()'))[0];
        expect(html(stats)).toContain('<table data-canfar="stats"');
        expect(json(stats)).toMatchObject({ cores: { available: 4 } });
        const log = rich(cellWith(cells, '.print().then('))[0];
        expect(html(log)).toContain('&lt;script&gt;alert(&quot;canfar&quot;)&lt;/script&gt; &amp; done');
        const submitted = json(rich(cellWith(cells, "canfar.submit('replica-chunk.ipynb'"))[0]) as {
          batchId: string;
        };
        const watchCell = cellWith(cells, 'canfar.watch(batch');
        const tables = rich(watchCell).filter((o) => html(o).includes('data-canfar="batch"'));
        expect(tables).toHaveLength(1);
        expect(json(tables[0])).toMatchObject({ done: true, counts: { completed: 4, total: 4 } });
        expectExactlyOnce(work, submitted.batchId);
        expectNoInjectedMarkup(cells);
      },
    );
  });
}
