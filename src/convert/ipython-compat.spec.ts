/**
 * Policy `ipython` must write what IPython itself (so nbconvert's script export) writes for every escape:
 * each code cell of the fixtures and of Debian's example notebooks goes through IPython's TransformerManager
 * (the real one, /usr/bin/python3) and through ours, and the two must agree line for line. Ours pads a
 * continued escape with blank lines (so script lines keep mapping to cell lines): blank lines are ignored.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { convertPythonCell } from './python';
import { readNotebook } from './notebook';
import { kernelLanguage } from './language';
import { debianNotebooks } from '../../test/helpers/debian-notebooks';

const PYTHON = '/usr/bin/python3';
const FIXTURES = join(__dirname, '../../test/fixtures/notebooks');
const hasIPython = spawnSync(PYTHON, ['-c', 'import IPython']).status === 0;

const EXTRA_CELLS = [
  '!ls -l',
  '!  ls  ',
  '%cd  /tmp',
  'x = %sx ls',
  'a, b = !ls',
  '?obj',
  'a.b??',
  '%time?',
  '!echo it\'s "quoted" \\\\ back',
  '%%bash  -e x\necho hi\n',
  '\n\n%%bash\necho',
  'if 1:\n    !echo a \\\n   b\n',
  'def f():\n    x = !ls\n    return x',
  'print("é ✓ \\t tab")\n!echo é\t✓',
  '>>> a, b = 0, 1\n>>> while b < 10:\n...     print(b)\n...     a, b = b, a+b',
  'In [1]: for i in range(3):\n   ...:     print(i)\n   ...: ',
  '\n    x = 1\n    if x:\n        !echo {x}\n',
  '...\nx = 1',
];

function cellsToCheck(): { where: string; source: string }[] {
  const cells: { where: string; source: string }[] = EXTRA_CELLS.map((source, i) => ({
    where: `extra ${i}`,
    source,
  }));
  const notebooks = [
    ...readdirSync(FIXTURES)
      .filter((name) => name.endsWith('.ipynb'))
      .map((name) => ({ name, document: JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) })),
    ...debianNotebooks().map(({ path, document }) => ({ name: path, document })),
  ];
  for (const { name, document } of notebooks) {
    if (kernelLanguage(document) !== 'python') continue;
    for (const cell of readNotebook(document).cells) {
      if (cell.type === 'code') cells.push({ where: `${name} cell ${cell.index + 1}`, source: cell.source });
    }
  }
  return cells;
}

(hasIPython ? test : test.skip)(
  'policy ipython writes what IPython TransformerManager writes, for every cell',
  () => {
    const cells = cellsToCheck();
    const program = [
      'import json, sys',
      'from IPython.core.inputtransformer2 import TransformerManager',
      'manager = TransformerManager()',
      'print(json.dumps([manager.transform_cell(s) for s in json.load(sys.stdin)]))',
    ].join('\n');
    const run = spawnSync(PYTHON, ['-c', program], {
      input: JSON.stringify(cells.map((c) => c.source)),
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    const expected: string[] = JSON.parse(run.stdout);
    const strip = (text: string) => text.split('\n').filter((line) => line.trim() !== '');
    const mismatches = cells
      .map((cell, i) => ({
        ...cell,
        ours: strip(convertPythonCell(cell.source, 'ipython').code),
        ipython: strip(expected[i]),
      }))
      .filter(
        (c) => !c.source.includes('from __future__') && JSON.stringify(c.ours) !== JSON.stringify(c.ipython),
      );
    expect(mismatches).toEqual([]);
    expect(cells.length).toBeGreaterThan(100);
  },
);
