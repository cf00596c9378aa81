/**
 * Notebook -> script conversion time: ours (src/convert) against Debian's `jupyter nbconvert --to script`, on
 * the same notebooks (Debian's python-nbsphinx-doc and python-notebook-doc examples plus our fixtures), side by
 * side per notebook and in total.
 *
 *   npm run bench:convert -- [--repeat N (default 5)] [--no-process]
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
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { convertNotebook } from '../src/convert';
import { debianNotebooks } from '../test/helpers/debian-notebooks';

const { values } = parseArgs({
  options: { repeat: { type: 'string', default: '5' }, 'no-process': { type: 'boolean', default: false } },
});
const REPEAT = Number(values.repeat);
const PROCESS = !values['no-process'];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x: number) => x.toFixed(x < 10 ? 3 : 1);

const work = mkdtempSync(join(tmpdir(), 'canfar-bench-convert-'));
try {
  const fixtures = join(__dirname, '../test/fixtures/notebooks');
  const notebooks = [
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
