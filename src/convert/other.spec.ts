/** Non-Python kernels: language detection, and JavaScript scripts run for real under node. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertNotebook, encodeParamEnv, kernelInfo, kernelLanguage, readParameters } from '.';

function nb(kernelspec: object | undefined, cells: string[], languageInfo?: object) {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      ...(kernelspec ? { kernelspec } : {}),
      ...(languageInfo ? { language_info: languageInfo } : {}),
    },
    cells: cells.map((source, i) => ({ cell_type: 'code', id: `j${i}`, metadata: {}, source, outputs: [] })),
  };
}

test.each([
  [{ name: 'python3', language: 'python' }, 'python'],
  [{ name: 'deno', language: 'typescript' }, 'typescript'],
  [{ name: 'tslab', language: 'typescript' }, 'typescript'],
  [{ name: 'jslab', language: 'javascript' }, 'javascript'],
  [{ name: 'javascript', language: 'javascript' }, 'javascript'],
  [{ name: 'ir', language: 'R' }, 'r'],
  [{ name: 'julia-1.10', language: 'julia' }, 'julia'],
  [{ name: 'bash', language: 'bash' }, 'bash'],
  [{ name: 'ir' }, 'r'],
])('kernelspec %j is %s', (kernelspec, language) => {
  expect(kernelLanguage(nb(kernelspec, []))).toBe(language);
});

test('language_info is used when there is no kernelspec; nothing at all means Python, said so', () => {
  expect(kernelLanguage(nb(undefined, [], { name: 'javascript' }))).toBe('javascript');
  expect(kernelInfo(nb(undefined, []))).toEqual({ language: 'python', kernelName: undefined, assumed: true });
  expect(convertNotebook(nb(undefined, ['print(1)'])).diagnostics).toContainEqual(
    expect.objectContaining({ kind: 'language-assumed', severity: 'info' }),
  );
});

test('interpreters: deno run -A, node with type stripping for tslab, node for JavaScript, Rscript, julia', () => {
  const of = (kernelspec: object) => {
    const r = convertNotebook(nb(kernelspec, ['1']));
    return [r.extension, r.interpreter.command, ...r.interpreter.args].join(' ');
  };
  expect(of({ name: 'deno', language: 'typescript' })).toBe('.ts deno run -A');
  expect(of({ name: 'tslab', language: 'typescript' })).toBe('.mts node --experimental-strip-types');
  expect(of({ name: 'javascript', language: 'javascript' })).toBe('.mjs node');
  expect(of({ name: 'ir', language: 'R' })).toBe('.R Rscript');
  expect(of({ name: 'julia-1.10', language: 'julia' })).toBe('.jl julia');
});

test('a declaration repeated in two JavaScript cells is an error naming both cells', () => {
  const result = convertNotebook(
    nb({ name: 'deno', language: 'typescript' }, ['let x = 1;', 'const y = 2;\nlet x = 3;']),
  );
  expect(result.ok).toBe(false);
  expect(result.diagnostics).toContainEqual(
    expect.objectContaining({
      severity: 'error',
      cell: 1,
      line: 2,
      kind: 'duplicate-declaration',
      message: expect.stringContaining('first in cell 1'),
    }),
  );
});

describe('JavaScript under node', () => {
  const dir = mkdtempSync(join(tmpdir(), 'canfar-convert-js-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const runJs = (cells: string[], env: Record<string, string> = {}) => {
    const result = convertNotebook(nb({ name: 'javascript', language: 'javascript' }, cells));
    const file = join(dir, `s${Math.random().toString(36).slice(2)}${result.extension}`);
    writeFileSync(file, result.script);
    return spawnSync(process.execPath, [file], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
  };

  test('cells form one ES module: top-level await and require work, progress on request', () => {
    const run = runJs(
      [
        'const os = require("node:os");\nconst v = await Promise.resolve(6 * 7);',
        'console.log("answer", v, typeof os.cpus);',
      ],
      { CANFAR_PROGRESS: '1' },
    );
    expect(run.stdout).toBe('answer 42 function\n');
    expect(run.stderr).toBe('canfar: cell 1/2 [cell 1 id=j0]\ncanfar: cell 2/2 [cell 2 id=j1]\n');
    expect(run.status).toBe(0);
  });

  test('a tslab notebook: the .mts script, types stripped (esbuild here; node >= 22.6 strips them itself), runs', () => {
    const result = convertNotebook(
      nb({ name: 'tslab', language: 'typescript' }, [
        'interface Point { x: number; y: number }\nconst p: Point = { x: 1, y: 2 };',
        'const total: number = await Promise.resolve(p.x + p.y);\nconsole.log("total", total as number);',
      ]),
    );
    const esbuild = require('esbuild') as typeof import('esbuild');
    const { code } = esbuild.transformSync(result.script, { loader: 'ts', format: 'esm' });
    const file = join(dir, 'tslab.mjs');
    writeFileSync(file, code);
    const run = spawnSync(process.execPath, [file], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('total 3\n');
  });

  test('a throwing cell (sync or awaited) exits non-zero naming the cell', () => {
    const sync = runJs(['console.log("one");', 'null.boom;', 'console.log("never");']);
    expect(sync.status).toBe(1);
    expect(sync.stdout).toBe('one\n');
    expect(sync.stderr).toContain('TypeError');
    expect(sync.stderr).toContain('canfar: cell 2 id=j1 failed (exit status 1)');
    const awaited = runJs(['await Promise.reject(new Error("async failure"));']);
    expect(awaited.status).toBe(1);
    expect(awaited.stderr).toContain('async failure');
    expect(awaited.stderr).toContain('canfar: cell 1 id=j0 failed');
  });
});

test('a Bash notebook runs under bash with set -e, and names the failing cell', () => {
  const result = convertNotebook(nb({ name: 'bash', language: 'bash' }, ['echo one', 'false', 'echo never']));
  const dir = mkdtempSync(join(tmpdir(), 'canfar-convert-sh-'));
  try {
    const file = join(dir, `script${result.extension}`);
    writeFileSync(file, result.script);
    const run = spawnSync(result.interpreter.command, [...result.interpreter.args, file], {
      encoding: 'utf8',
    });
    expect(run.stdout).toBe('one\n');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('canfar: cell 2 id=j1 failed (exit status 1)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('JavaScript parameters from CANFAR_PARAM_<name>', () => {
  const dir = mkdtempSync(join(tmpdir(), 'canfar-convert-jsp-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const notebook = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'javascript', language: 'javascript' } },
    cells: [
      {
        cell_type: 'code',
        id: 'p',
        metadata: { tags: ['parameters'] },
        source:
          'const n = 1; // count\nlet ratio = 0.5;\nconst on = false;\nconst label = "m31";\nconst bands = ["g"];\nconst opts = {\n  k: 1,\n};',
        outputs: [],
      },
      {
        cell_type: 'code',
        id: 'i',
        metadata: { tags: ['injected-parameters'] },
        source: 'const n = 5;',
        outputs: [],
      },
      {
        cell_type: 'code',
        id: 'u',
        metadata: {},
        source: 'console.log(JSON.stringify([n, ratio, on, label, bands, opts]));',
        outputs: [],
      },
    ],
  };
  const result = convertNotebook(notebook);
  const file = join(dir, `params${result.extension}`);
  writeFileSync(file, result.script);
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, [file], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });

  test('readParameters and the result list them, injected values winning', () => {
    expect(result.ok).toBe(true);
    expect(readParameters(notebook)).toEqual(result.parameters);
    expect(result.parameters).toEqual([
      { name: 'n', type: 'int', default: '5' },
      { name: 'ratio', type: 'float', default: '0.5' },
      { name: 'on', type: 'bool', default: 'false' },
      { name: 'label', type: 'str', default: '"m31"' },
      { name: 'bands', type: 'list', default: '["g"]' },
      { name: 'opts', type: 'dict', default: '{\n  k: 1,\n}' },
    ]);
  });

  test('defaults, then overrides typed like the defaults', () => {
    expect(run({}).stdout).toBe('[5,0.5,false,"m31",["g"],{"k":1}]\n');
    const overridden = run({
      CANFAR_PARAM_n: '7',
      CANFAR_PARAM_ratio: '2',
      CANFAR_PARAM_on: 'yes',
      CANFAR_PARAM_label: '42',
      CANFAR_PARAM_bands: '["r","i"]',
      CANFAR_PARAM_opts: '{"k":2}',
    });
    expect(overridden.status).toBe(0);
    expect(overridden.stdout).toBe('[7,2,true,"42",["r","i"],{"k":2}]\n');
  });

  test('canfar-b64 values are decoded before typing: =, quotes, newlines, non-ASCII, empty string', () => {
    const values = {
      label: 'SELECT * FROM t WHERE x=1',
      bands: '["première ligne\\nzweite Zeile ✓", "it\'s \\"quoted\\" = yes"]',
      opts: '{"é": "Ω Centauri"}',
    };
    const env = Object.fromEntries(
      Object.entries(values).map(([name, value]) => [`CANFAR_PARAM_${name}`, encodeParamEnv(value)]),
    );
    expect(env.CANFAR_PARAM_label).toMatch(/^canfar-b64:[\w-]+$/);
    const decoded = run(env);
    expect(decoded.stderr).not.toContain('not a valid');
    expect(decoded.status).toBe(0);
    expect(JSON.parse(decoded.stdout)).toEqual([
      5,
      0.5,
      false,
      'SELECT * FROM t WHERE x=1',
      ['première ligne\nzweite Zeile ✓', 'it\'s "quoted" = yes'],
      { é: 'Ω Centauri' },
    ]);
    const multiline = 'première ligne\nzweite Zeile ✓\n\tΩ';
    expect(JSON.parse(run({ CANFAR_PARAM_label: encodeParamEnv(multiline) }).stdout)[3]).toBe(multiline);
    expect(JSON.parse(run({ CANFAR_PARAM_label: encodeParamEnv('') }).stdout)[3]).toBe('');
    const broken = run({ CANFAR_PARAM_label: 'canfar-b64:!!' });
    expect(broken.status).toBe(2);
    expect(broken.stderr).toContain('CANFAR_PARAM_label="canfar-b64:!!" is not valid canfar-b64');
  });

  test('a bad value exits 2 naming it; an unknown parameter is reported', () => {
    const bad = run({ CANFAR_PARAM_n: 'seven' });
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('CANFAR_PARAM_n="seven" is not a valid number (the notebook default is 5)');
    expect(run({ CANFAR_PARAM_typo: '1' }).stderr).toContain(
      'CANFAR_PARAM_typo set but the notebook has no such parameter',
    );
  });
});

describe('combine cells in other languages', () => {
  const fixture = (name: string) =>
    JSON.parse(readFileSync(join(__dirname, '../../test/fixtures/notebooks', name), 'utf8'));

  test('JavaScript: the replicas write their parts, the combine script merges them once', () => {
    const result = convertNotebook(fixture('javascript-combine.ipynb'));
    expect(result.ok).toBe(true);
    expect(result.combine?.cells).toEqual([4]);
    const dir = mkdtempSync(join(tmpdir(), 'canfar-convert-jscombine-'));
    try {
      writeFileSync(join(dir, `script${result.extension}`), result.script);
      writeFileSync(join(dir, `combine${result.extension}`), result.combine?.script ?? '');
      const run = (file: string, env: Record<string, string>) =>
        spawnSync(process.execPath, [join(dir, file)], {
          cwd: dir,
          encoding: 'utf8',
          env: { PATH: process.env.PATH, REPLICA_COUNT: '2', ...env },
        });
      const parts = ['1', '2'].map((id) => run('script.mjs', { REPLICA_ID: id }));
      expect(parts.map((p) => p.stdout)).toEqual(['run 1 wrote [0,2,4,6,8]\n', 'run 2 wrote [1,3,5,7,9]\n']);
      const combined = run('combine.mjs', { CANFAR_PARAM_label: encodeParamEnv('all=') });
      expect(combined.status).toBe(0);
      expect(combined.stdout).toBe('all= combined 2 parts: [0,1,2,3,4,5,6,7,8,9]\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('R (or any other language): an error naming the cells', () => {
    const notebook = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: 'ir', language: 'R' } },
      cells: ['x <- 1', 'print(x)', 'print("merge")'].map((source, i) => ({
        cell_type: 'code',
        id: `r${i}`,
        metadata: i > 0 ? { tags: ['combine'] } : {},
        source,
        outputs: [],
      })),
    };
    const result = convertNotebook(notebook);
    expect(result.ok).toBe(false);
    expect(result.combine).toBeUndefined();
    expect(result.diagnostics).toEqual([
      expect.objectContaining({
        severity: 'error',
        kind: 'combine-unsupported',
        message: expect.stringContaining(
          'cells tagged combine (cell 2, cell 3) are run after the replicas for Python, JavaScript and TypeScript notebooks only, not r',
        ),
      }),
    ]);
  });
});
