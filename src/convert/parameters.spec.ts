/** readParameters (what the submit dialog shows) and the Python string literals the converter writes. */
import { spawnSync } from 'node:child_process';
import { readNotebook, readParameters } from '.';
import { pyRepr } from './pyrepr';
import { convertPythonCell } from './python';

const notebook = (cells: { source: string; tags?: string[] }[], nbformat = 4) => ({
  nbformat,
  metadata: {},
  cells: cells.map((c) => ({
    cell_type: 'code',
    metadata: { tags: c.tags ?? [] },
    source: c.source,
    outputs: [],
  })),
});

test('parameters: names, papermill types and default source text, injected values winning', () => {
  const params = readParameters(
    notebook([
      {
        tags: ['parameters'],
        source: [
          'n = 10  # count',
          'ratio = 1e-3',
          'label: str = "it\'s # not a comment"',
          'on = False',
          'bands = ["g", "r"]',
          'config = {',
          '    "a": [1, 2],',
          '}',
          'empty = {}',
          'nothing = None',
          'path = pathlib.Path("x")',
          'if on:',
          '    hidden = 1',
          'def f(x=1):',
          '    return x',
          'a, b = 1, 2',
          'n = 11',
        ].join('\n'),
      },
      { tags: ['injected-parameters'], source: '# Parameters\nratio = 0.5\nextra = "new"\n' },
    ]),
  );
  expect(params).toEqual([
    { name: 'n', type: 'int', default: '11' },
    { name: 'ratio', type: 'float', default: '0.5' },
    { name: 'label', type: 'str', default: '"it\'s # not a comment"' },
    { name: 'on', type: 'bool', default: 'False' },
    { name: 'bands', type: 'list', default: '["g", "r"]' },
    { name: 'config', type: 'dict', default: '{\n    "a": [1, 2],\n}' },
    { name: 'empty', type: 'dict', default: '{}' },
    { name: 'nothing', type: 'none', default: 'None' },
    { name: 'path', type: 'other', default: 'pathlib.Path("x")' },
    { name: 'extra', type: 'str', default: '"new"' },
  ]);
});

test('no parameters cell, no parameters', () => {
  expect(readParameters(notebook([{ source: 'x = 1' }]))).toEqual([]);
});

test('a malformed notebook is rejected with what is wrong', () => {
  expect(() => readNotebook({ nbformat: 4, cells: [{ cell_type: 'code', source: 42 }] })).toThrow(
    'cell 1 source must be a string or a list of strings, not 42',
  );
  expect(() => readNotebook({ nbformat: 4, cells: [{ cell_type: 'widget', source: '' }] })).toThrow(
    'cell 1 has unknown cell_type "widget"',
  );
  expect(() => readNotebook([])).toThrow('a notebook is a JSON object');
});

test("pyRepr is Python's repr() for quotes, escapes, control and non-ASCII characters", () => {
  const samples = [
    '',
    'plain',
    "it's",
    'say "hi"',
    `both ' and "`,
    'back\\slash',
    'tab\tnew\nline\r',
    '\x00\x07\x7f',
    'é ✓ 𝄞',
    '\u2028\u00a0\u200b',
    'ls -l | grep {x} $y',
  ];
  const python = spawnSync(
    '/usr/bin/python3',
    ['-c', 'import json,sys\nfor s in json.load(sys.stdin): print(repr(s))'],
    {
      input: JSON.stringify(samples),
      encoding: 'utf8',
    },
  );
  expect(python.stdout.trimEnd().split('\n')).toEqual(samples.map(pyRepr));
});

test('automagic (a magic without %) is warned about only where a statement starts', () => {
  const source = ['ls data/', 's = """', '    run the analysis', '"""', 'ls = [1]', 'run analysis.py'].join(
    '\n',
  );
  const { diagnostics } = convertPythonCell(source, 'translate');
  expect(diagnostics.map((d) => [d.kind, d.line])).toEqual([
    ['automagic', 1],
    ['automagic', 6],
  ]);
});
