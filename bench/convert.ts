/**
 * Notebook -> script, ours (src/convert) beside Debian's `jupyter nbconvert --to script`:
 *
 * 1. Fidelity on the corpus of real notebooks (test/fixtures/corpus): how many of the n scripts print the stdout
 *    that `jupyter nbconvert --execute` recorded for the notebook (k of n), ours run by `python3` as a replica
 *    runs it, nbconvert's export run by `python3` and by `ipython` (which it needs for its get_ipython() calls),
 *    with the time each run took.
 * 2. Conversion time on the corpus, Debian's example notebooks and our fixtures, side by side per notebook and
 *    in total.
 *
 *   npm run bench:convert -- [--repeat N (default 5)] [--no-process] [--no-fidelity] [--no-timing]
 *
 * Two views, because nbconvert's cost is mostly starting Python and importing nbconvert:
 * - in-process: only the export, repeated N times, median (ours: convertNotebook on the parsed notebook;
 *   nbconvert: ScriptExporter.from_notebook_node on the nbformat node, timed inside one Python process);
 * - per process: what a user waits for, one command per notebook (ours: node running a bundle of the converter,
 *   as the CLI does; nbconvert: `jupyter nbconvert --to script --stdout`).
 * Figures only; nothing is asserted. Where nbconvert's export time goes (cProfile, nbconvert 6.5 / nbformat 5.7):
 * validating the notebook after each of its preprocessors, compiling the JSON schema validator every time.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { convertNotebook } from '../src/convert';
import { debianNotebooks } from '../test/helpers/debian-notebooks';
import {
  CORPUS,
  corpusCopy,
  corpusEntries,
  expectedPath,
  pool,
  run,
  runConverted,
  sameText,
} from '../test/helpers/corpus';

const { values } = parseArgs({
  options: {
    repeat: { type: 'string', default: '5' },
    'no-process': { type: 'boolean', default: false },
    'no-fidelity': { type: 'boolean', default: false },
    'no-timing': { type: 'boolean', default: false },
  },
});
const REPEAT = Number(values.repeat);
const PROCESS = !values['no-process'];

async function fidelity(): Promise<void> {
  const entries = corpusEntries();
  const { root, dispose } = corpusCopy();
  try {
    const ours = await pool(entries, 2, (entry) => runConverted(root, entry));
    // nbconvert's export of the same notebooks (one process for all), then run by python3 and by ipython.
    const files = entries.map((entry) => join(root, entry.file));
    const exported = await run(
      '/usr/bin/jupyter',
      ['nbconvert', '--to', 'script', '--log-level=ERROR', ...files],
      root,
      600_000,
    );
    if (exported.code !== 0) throw new Error(`nbconvert --to script failed: ${exported.stderr}`);
    const theirs = async (python: string[]) =>
      pool(entries, 2, async (entry) => {
        const file = join(root, entry.file);
        const ran = await run(
          '/usr/bin/python3',
          [...python, file.replace(/\.ipynb$/, '.py')],
          dirname(file),
          120_000,
        );
        const expected = readFileSync(expectedPath(entry), 'utf8');
        return { ...ran, same: ran.code === 0 && sameText(ran.stdout, expected) };
      });
    const plain = await theirs([]);
    // IPython at its best for a script: without --no-term-title every run starts with a terminal-title escape.
    const ipython = await theirs([
      '-m',
      'IPython',
      '--no-banner',
      '--quick',
      '--no-term-title',
      '--colors=NoColor',
    ]);
    const width = Math.max(...entries.map((e) => e.file.length), 24);
    const mark = (r: { same: boolean; code: number | null; ms: number }) =>
      `${r.same ? 'same' : r.code === 0 ? 'diff' : `exit ${r.code}`} ${r.ms} ms`.padStart(16);
    console.log(
      `fidelity on ${entries.length} real notebooks (${CORPUS}): stdout as recorded by nbconvert --execute\n`,
    );
    console.log(
      [
        'notebook'.padEnd(width),
        'ours (python3)'.padStart(16),
        'nbconvert+python3'.padStart(18),
        'nbconvert+ipython'.padStart(18),
      ].join('  '),
    );
    entries.forEach((entry, i) =>
      console.log(
        [
          entry.file.padEnd(width),
          mark(ours[i]),
          mark(plain[i]).padStart(18),
          mark(ipython[i]).padStart(18),
        ].join('  '),
      ),
    );
    const count = (rs: { same: boolean }[]) => rs.filter((r) => r.same).length;
    const total = (rs: { ms: number }[]) => rs.reduce((a, r) => a + r.ms, 0);
    console.log(
      [
        'reproduced (k of n), run time'.padEnd(width),
        `${count(ours)} of ${entries.length}, ${(total(ours) / 1000).toFixed(1)} s`.padStart(16),
        `${count(plain)} of ${entries.length}, ${(total(plain) / 1000).toFixed(1)} s`.padStart(18),
        `${count(ipython)} of ${entries.length}, ${(total(ipython) / 1000).toFixed(1)} s`.padStart(18),
      ].join('  '),
    );
    console.log(`(nbconvert --to script of all ${entries.length}: ${exported.ms} ms in one process)\n`);
  } finally {
    dispose();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x: number) => x.toFixed(x < 10 ? 3 : 1);

async function timing(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'canfar-bench-convert-'));
  try {
    const fixtures = join(__dirname, '../test/fixtures/notebooks');
    const notebooks = [
      ...corpusEntries().map((entry) => ({
        name: `corpus/${entry.file.replace(/^.*\//, '')}`,
        text: readFileSync(join(CORPUS, 'notebooks', entry.file), 'utf8'),
      })),
      ...debianNotebooks().map((nb) => ({
        name: nb.path.replace(/^.*\/html\/(examples\/Notebook\/)?/, ''),
        text: nb.text,
      })),
      ...readdirSync(fixtures)
        .filter((name) => name.startsWith('python-') && name.endsWith('.ipynb'))
        .map((name) => ({ name: `fixtures/${name}`, text: readFileSync(join(fixtures, name), 'utf8') })),
    ].map((nb, i) => {
      const file = join(work, `${String(i).padStart(2, '0')}.ipynb`);
      writeFileSync(file, nb.text);
      const document = JSON.parse(nb.text) as { cells?: unknown[]; worksheets?: { cells: unknown[] }[] };
      const cells = document.cells?.length ?? document.worksheets?.[0]?.cells.length ?? 0;
      return { ...nb, file, document, cells };
    });

    // Ours, in-process (after a warm-up, as a long-lived JupyterLab page would run it).
    for (const nb of notebooks) convertNotebook(nb.document);
    const oursIn = notebooks.map((nb) => {
      const times: number[] = [];
      for (let i = 0; i < REPEAT; i += 1) {
        const start = process.hrtime.bigint();
        convertNotebook(nb.document);
        times.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
      return median(times);
    });

    // nbconvert, in-process: one Python process, import once, time only the export.
    const pyTimer = join(work, 'time_nbconvert.py');
    writeFileSync(
      pyTimer,
      [
        'import json, sys, time, nbformat',
        'from nbconvert import PythonExporter, ScriptExporter',
        'repeat = int(sys.argv[1])',
        'def median(exporter, node):',
        '    exporter.from_notebook_node(node)  # warm-up (templates load on first use)',
        '    times = []',
        '    for _ in range(repeat):',
        '        start = time.perf_counter()',
        '        exporter.from_notebook_node(node)',
        '        times.append((time.perf_counter() - start) * 1000)',
        '    return sorted(times)[len(times) // 2]',
        'script, python = ScriptExporter(), PythonExporter()',
        'result = []',
        'for path in sys.argv[2:]:',
        '    node = nbformat.read(path, as_version=4)',
        '    result.append([median(script, node), median(python, node)])',
        'print(json.dumps(result))',
      ].join('\n'),
    );
    // ScriptExporter (what --to script runs) finds the language's exporter and builds it, templates included, on
    // every call; PythonExporter reused is nbconvert's best case.
    const nbBoth: [number, number][] = JSON.parse(
      execFileSync('/usr/bin/python3', [pyTimer, String(REPEAT), ...notebooks.map((nb) => nb.file)], {
        encoding: 'utf8',
      }),
    );
    const nbIn = nbBoth.map(([script]) => script);
    const nbPy = nbBoth.map(([, python]) => python);

    // Per process.
    let oursProc: number[] = [];
    let nbProc: number[] = [];
    if (PROCESS) {
      const bundle = join(work, 'convert-cli.cjs');
      const esbuild = require('esbuild') as typeof import('esbuild');
      const entry = join(work, 'entry.ts');
      writeFileSync(
        entry,
        `import { readFileSync } from 'node:fs';\nimport { convertNotebook } from ${JSON.stringify(join(__dirname, '../src/convert'))};\n` +
          `process.stdout.write(convertNotebook(JSON.parse(readFileSync(process.argv[2], 'utf8'))).script);\n`,
      );
      esbuild.buildSync({
        entryPoints: [entry],
        bundle: true,
        platform: 'node',
        outfile: bundle,
        logLevel: 'warning',
      });
      const wall = (command: string, args: string[]) => {
        const start = process.hrtime.bigint();
        const run = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
        if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${run.stderr}`);
        return Number(process.hrtime.bigint() - start) / 1e6;
      };
      oursProc = notebooks.map((nb) => wall(process.execPath, [bundle, nb.file]));
      nbProc = notebooks.map((nb) =>
        wall('/usr/bin/jupyter', ['nbconvert', '--to', 'script', '--stdout', '--log-level=ERROR', nb.file]),
      );
    }

    const width = Math.max(...notebooks.map((nb) => nb.name.length), 24);
    const header = ['notebook'.padEnd(width), 'cells', 'ours ms', 'nbconv ms', 'ratio', 'PythonExporter ms'];
    if (PROCESS) header.push('ours proc ms', 'nbconv proc ms');
    console.log(`in-process: median of ${REPEAT}; per process: one run each, wall clock\n`);
    console.log(header.join('  '));
    notebooks.forEach((nb, i) => {
      const row = [
        nb.name.padEnd(width),
        String(nb.cells).padStart(5),
        ms(oursIn[i]).padStart(7),
        ms(nbIn[i]).padStart(9),
        `${(nbIn[i] / oursIn[i]).toFixed(0)}x`.padStart(5),
        ms(nbPy[i]).padStart(17),
      ];
      if (PROCESS) row.push(ms(oursProc[i]).padStart(12), ms(nbProc[i]).padStart(14));
      console.log(row.join('  '));
    });
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const total = [
      `total (${notebooks.length} notebooks)`.padEnd(width),
      String(sum(notebooks.map((nb) => nb.cells))).padStart(5),
      ms(sum(oursIn)).padStart(7),
      ms(sum(nbIn)).padStart(9),
      `${(sum(nbIn) / sum(oursIn)).toFixed(0)}x`.padStart(5),
      ms(sum(nbPy)).padStart(17),
    ];
    if (PROCESS) total.push(ms(sum(oursProc)).padStart(12), ms(sum(nbProc)).padStart(14));
    console.log(total.join('  '));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

(async () => {
  if (!values['no-fidelity']) await fidelity();
  if (!values['no-timing']) await timing();
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
