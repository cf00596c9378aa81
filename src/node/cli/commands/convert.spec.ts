/** `canfar-lab convert` through the real CLI entry (main), with real files in a temporary directory. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../../test/helpers/cli';

const FIXTURES = join(__dirname, '../../../../test/fixtures/notebooks');
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'canfar-convert-cli-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...argv: string[]) => runCli(argv, {});

function notebook(name: string, cells: string[]): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    JSON.stringify({
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: 'python3', language: 'python' } },
      cells: cells.map((source, i) => ({
        cell_type: 'code',
        id: `c${i}`,
        metadata: {},
        source,
        outputs: [],
      })),
    }),
  );
  return path;
}

test('writes the script to -o, which then runs under python3', async () => {
  const input = notebook('a.ipynb', ['x = 20', '!echo shell {x}\nprint(x + 1)']);
  const output = join(dir, 'a.py');
  const result = await cli('convert', input, '-o', output);
  expect(result.code).toBe(0);
  expect(result.stdout).toBe('');
  expect(result.stderr).toContain(`wrote ${output} (python); run it with: python3 -u ${output}`);
  const run = spawnSync('/usr/bin/python3', [output], { encoding: 'utf8', cwd: dir });
  expect(run.stdout).toBe('shell 20\n21\n');
  expect(readdirSync(dir).sort()).toEqual(['a.ipynb', 'a.py']); // no temporary file left behind
});

test('prints the script on stdout without -o', async () => {
  const result = await cli('convert', notebook('b.ipynb', ['print(1)']));
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/^#!\/usr\/bin\/env python3\n/);
  expect(result.stdout).toContain("# %% [cell 1 id=c0]\n_canfar.begin(1, 'cell 1 id=c0')\nprint(1)\n");
});

test('refuses to replace an existing output unless --force', async () => {
  const input = notebook('c.ipynb', ['print(2)']);
  const output = join(dir, 'c.py');
  writeFileSync(output, 'precious');
  const refused = await cli('convert', input, '-o', output);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain(`not writing ${output}: it exists (use --force to replace it)`);
  expect(readFileSync(output, 'utf8')).toBe('precious');
  expect(readdirSync(dir).sort()).toEqual(['c.ipynb', 'c.py']);
  const forced = await cli('convert', input, '-o', output, '--force');
  expect(forced.code).toBe(0);
  expect(readFileSync(output, 'utf8')).toContain('print(2)');
});

test('conversion errors: diagnostics on stderr naming cell and line, exit 1, nothing written', async () => {
  const input = notebook('d.ipynb', ['print(1)', 'x = 1\n%who']);
  const output = join(dir, 'd.py');
  const result = await cli('convert', input, '-o', output, '--unknown-magics', 'error');
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(
    `${input}: cell 2 (id c1), line 2: error [unknown-magic]: \`%who\` has no plain-Python translation`,
  );
  expect(result.stderr).toContain('not converted: 1 error above');
  expect(existsSync(output)).toBe(false);
  const commented = await cli('convert', input, '-o', output, '--unknown-magics', 'comment');
  expect(commented.code).toBe(0);
  expect(commented.stderr).toContain('warning [unknown-magic]');
  expect(readFileSync(output, 'utf8')).toContain('# %who');
});

test('by default a magic only IPython runs is run by IPython, and the CLI says the script needs it', async () => {
  const input = notebook('g.ipynb', ['x = 1', '%who']);
  const output = join(dir, 'g.py');
  const result = await cli('convert', input, '-o', output);
  expect(result.code).toBe(0);
  expect(result.stderr).toContain(
    'info [ipython-magic]: `%who` has no plain-Python translation: IPython runs it',
  );
  const run = spawnSync('/usr/bin/python3', [output], { encoding: 'utf8', cwd: dir });
  expect(run.stderr).toBe('');
  expect(run.stdout).toBe('x\t \n');
});

test('--runtime module: two import lines, and the runtime written beside the script', async () => {
  const input = notebook('h.ipynb', ['!echo module {1 + 1}']);
  const output = join(dir, 'h.py');
  const result = await cli('convert', input, '-o', output, '--runtime', 'module');
  expect(result.code).toBe(0);
  const script = readFileSync(output, 'utf8');
  expect(script).toContain('from canfar_batch._runtime import start; _canfar = start(globals(), cells=1)\n');
  expect(script.split('\n').length).toBeLessThan(15);
  expect(readdirSync(join(dir, 'pylib', 'canfar_batch'))).toEqual(['_runtime.py']);
  const run = spawnSync('/usr/bin/python3', [output], { encoding: 'utf8', cwd: '/' });
  expect(run.stdout).toBe('module 2\n');
});

test('--policy ipython and --progress reach the script; --json describes the result', async () => {
  const input = notebook('e.ipynb', ['!ls', 'p = 1']);
  const result = await cli('--json', 'convert', input, '--policy', 'ipython', '--progress');
  expect(result.code).toBe(0);
  const parsed = JSON.parse(result.stdout);
  expect(parsed).toMatchObject({
    ok: true,
    language: 'python',
    extension: '.py',
    interpreter: { command: 'python3', args: ['-u'] },
    needsIPython: { cells: [0] },
  });
  expect(parsed.script).toContain("get_ipython().system('ls')");
  expect(parsed.script).toContain('_canfar = start(globals(), cells=2, progress=True, ipython=[1])');
});

test('bad usage exits 2 with the reason', async () => {
  const input = notebook('f.ipynb', ['print(1)']);
  const policy = await cli('convert', input, '--policy', 'nbconvert');
  expect(policy.code).toBe(2);
  expect(policy.stderr).toContain('--policy must be one of translate, ipython, comment, not "nbconvert"');
  expect((await cli('convert')).code).toBe(2);
  expect((await cli('convert', input, '--frobnicate')).code).toBe(2);
});

test('an unreadable or invalid notebook exits 1 saying why', async () => {
  const missing = await cli('convert', join(dir, 'nope.ipynb'));
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain('nope.ipynb as a notebook: no such file');
  const broken = join(dir, 'broken.ipynb');
  writeFileSync(broken, JSON.stringify({ nbformat: 2, cells: [] }));
  const old = await cli('convert', broken);
  expect(old.code).toBe(1);
  expect(old.stderr).toContain('unsupported nbformat 2');
});

test('other kernels: the fixtures convert with their interpreter named', async () => {
  const result = await cli('--json', 'convert', join(FIXTURES, 'deno.ipynb'));
  expect(JSON.parse(result.stdout)).toMatchObject({
    language: 'typescript',
    extension: '.ts',
    interpreter: { command: 'deno', args: ['run', '-A'] },
  });
  const unknown = await cli('convert', join(FIXTURES, 'unknown-language.ipynb'));
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain('no batch runner for the octave kernel');
});
