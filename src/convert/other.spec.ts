/** Non-Python kernels: language detection, and JavaScript scripts run for real under node. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertNotebook, kernelInfo, kernelLanguage } from '.';

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
