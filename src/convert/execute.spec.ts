/**
 * Converted Python scripts run for real under /usr/bin/python3: what a batch replica does. Each test builds a
 * small notebook, converts it, runs the script in a fresh temporary directory and checks what a user sees:
 * stdout, stderr and the exit status.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertNotebook, type ConvertOptions } from '.';

const PYTHON = '/usr/bin/python3';
const hasModule = (name: string) => spawnSync(PYTHON, ['-c', `import ${name}`]).status === 0;

type CellSpec = string | { source: string; tags?: string[]; type?: 'code' | 'markdown' | 'raw' };

export function notebookOf(cells: CellSpec[]): object {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', language: 'python', display_name: 'Python 3' } },
    cells: cells.map((spec, i) => {
      const cell = typeof spec === 'string' ? { source: spec } : spec;
      const type = cell.type ?? 'code';
      return {
        cell_type: type,
        id: `id${i}`,
        metadata: cell.tags ? { tags: cell.tags } : {},
        source: cell.source,
        ...(type === 'code' ? { outputs: [], execution_count: null } : {}),
      };
    }),
  };
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function runNotebook(
  cells: CellSpec[],
  {
    env = {},
    options = {},
    python = [] as string[],
  }: { env?: Record<string, string>; options?: ConvertOptions; python?: string[] } = {},
) {
  const result = convertNotebook(notebookOf(cells), options);
  const dir = mkdtempSync(join(tmpdir(), 'canfar-convert-'));
  dirs.push(dir);
  const script = join(dir, 'script.py');
  writeFileSync(script, result.script);
  const run = spawnSync(PYTHON, [...python, script], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: dir, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { result, dir, status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('exit status and the failing cell', () => {
  test('a failing shell command fails the script, naming the cell and the command', () => {
    const run = runNotebook(['print("before")', '!echo shell-ran && false', 'print("after")']);
    expect(run.result.ok).toBe(true);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('before\nshell-ran\n');
    expect(run.stderr).toContain(
      'cell 2 id=id1: shell command failed with exit status 1: echo shell-ran && false',
    );
  });

  test('a %%bash cell that fails fails the script with its exit status', () => {
    const run = runNotebook(['%%bash\necho in-bash\nexit 3', 'print("after")']);
    expect(run.status).toBe(3);
    expect(run.stdout).toBe('in-bash\n');
    expect(run.stderr).toContain('cell 1 id=id0: %%bash cell failed with exit status 3');
  });

  test('an exception fails the script with status 1 and names the running cell and where it was raised', () => {
    const run = runNotebook([
      'def divide(a, b):\n    # a helper defined in cell 1\n    return a / b',
      'print("cell 2 runs")\nx = divide(1, 0)',
      'print("never")',
    ]);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('cell 2 runs\n');
    expect(run.stderr).toContain('ZeroDivisionError: division by zero');
    expect(run.stderr).toContain(
      'canfar: cell 2 id=id1 failed with ZeroDivisionError: division by zero (raised at cell 1 id=id0, line 3 of the cell)',
    );
  });

  test('a syntax error in any cell fails the script before anything runs', () => {
    // Python compiles the whole file first, before the runtime exists: the error names the script line, and
    // the nearest `# %% [cell N]` marker above it names the cell.
    const run = runNotebook(['print("first")', 'x = 1\ny = (2,', 'print("third")']);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/SyntaxError: '\(' was never closed/);
    const line = Number(/script\.py", line (\d+)/.exec(run.stderr)?.[1]);
    const script = run.result.script.split('\n');
    const marker = script
      .slice(0, line)
      .reverse()
      .find((text) => text.startsWith('# %% ['));
    expect(marker).toBe('# %% [cell 2 id=id1]');
  });

  test('SystemExit(0) ends the script successfully; sys.exit(4) gives status 4', () => {
    const ok = runNotebook(['print("one")', 'raise SystemExit(0)', 'print("not reached")']);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toBe('one\n');
    const four = runNotebook(['import sys\nsys.exit(4)']);
    expect(four.status).toBe(4);
  });

  test('a cell tagged raises-exception logs its error and the script continues', () => {
    const run = runNotebook([
      { source: 'print("tagged")\nraise ValueError("expected failure")', tags: ['raises-exception'] },
      'print("continued")',
    ]);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('tagged\ncontinued\n');
    expect(run.stderr).toContain('File "<cell 1 id=id0>", line 2');
    expect(run.stderr).toContain('ValueError: expected failure');
    expect(run.stderr).toContain('tagged raises-exception, so the script continues');
    const shell = runNotebook([{ source: '!exit 5', tags: ['raises-exception'] }, 'print("still running")']);
    expect(shell.status).toBe(0);
    expect(shell.stdout).toBe('still running\n');
    expect(shell.stderr).toContain('shell command failed with exit status 5: exit 5');
  });

  test('--progress prints cell k/N to stderr', () => {
    const run = runNotebook(['# one', { type: 'markdown', source: 'text' }, 'print(2)'], {
      options: { progress: true },
    });
    expect(run.status).toBe(0);
    expect(run.stderr).toContain('canfar: cell 1/2 [cell 1 id=id0]');
    expect(run.stderr).toContain('canfar: cell 2/2 [cell 3 id=id2]');
    const quiet = runNotebook(['print(1)']);
    expect(quiet.stderr).toBe('');
  });
});

describe('translated magics at run time', () => {
  test('!cmd with {expr} and $name expansion, captured output, indented and continued escapes', () => {
    const run = runNotebook([
      'name = "world"\nn = 2\n!echo hello {name} $n {n*3}\n!echo \'$HOME-not-expanded\' | tr a-z A-Z',
      'lines = !printf "a\\nb\\n"\nprint(lines, lines.n.replace("\\n", "+"))',
      'for i in range(2):\n    !echo loop {i} \\\n        continued',
      'missing = !ls /no/such/file\nprint("captured failure:", len(missing) > 0)',
    ]);
    expect(run.stderr).toContain('captured command exited with status 2');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(
      "hello world 2 6\n$HOME-NOT-EXPANDED\n['a', 'b'] a+b\nloop 0 continued\nloop 1 continued\ncaptured failure: True\n",
    );
  });

  test('%cd, %env in all forms, %%writefile, %run and %%sh', () => {
    const run = runNotebook([
      'import os\nos.mkdir("sub")\n%cd sub\n%cd -q ..\nprint(os.path.basename(os.getcwd()) != "sub")',
      '%env A=1\n%env B 2\nv = %env A\nprint(v, os.environ["B"])',
      '%%writefile helper.py\nimport sys\nprint("helper argv", sys.argv[1:])\nresult = 42\n',
      '%%writefile -a helper.py\nprint("appended")\n',
      '%run helper.py --flag x\nprint("result from %run:", result)',
      '%%sh\necho "sh sees A=$A"',
    ]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout.split('\n')).toEqual([
      expect.stringMatching(/\/sub$/),
      'True',
      'env: A=1',
      'env: B=2',
      '1 2',
      'Writing helper.py',
      'Appending to helper.py',
      "helper argv ['--flag', 'x']",
      'appended',
      'result from %run: 42',
      'sh sees A=1',
      '',
    ]);
  });

  test('%time, %%time, %%capture and autoreload run their body once; %pip is not run', () => {
    const run = runNotebook([
      '%load_ext autoreload\n%autoreload 2',
      '%time x = 40\n%timeit -n 1 -r 1 y = 2',
      '%%time\nprint("timed", x + y)',
      '%%capture\nprint("not captured in a script")',
      '%pip install definitely-not-a-package',
    ]);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('timed 42\nnot captured in a script\n');
  });
});

describe('parameters from CANFAR_PARAM_<name>', () => {
  const cells: CellSpec[] = [
    {
      source: 'n = 1\nx = 0.5\nflag = False\nname = "a"\nitems = [1]\nopts = {"k": 1}\nmaybe = None',
      tags: ['parameters'],
    },
    'print(repr(n), repr(x), repr(flag), repr(name), repr(items), repr(opts), repr(maybe))',
  ];

  test('defaults without overrides', () => {
    const run = runNotebook(cells);
    expect(run.stdout).toBe("1 0.5 False 'a' [1] {'k': 1} None\n");
  });

  test('overrides typed like the defaults (JSON or Python literals)', () => {
    const run = runNotebook(cells, {
      env: {
        CANFAR_PARAM_n: '7',
        CANFAR_PARAM_x: '2',
        CANFAR_PARAM_flag: 'yes',
        CANFAR_PARAM_name: '42',
        CANFAR_PARAM_items: '[1, 2, "three"]',
        CANFAR_PARAM_opts: "{'k': 2, 'm': None}",
        CANFAR_PARAM_maybe: '3.5',
      },
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toBe("7 2.0 True '42' [1, 2, 'three'] {'k': 2, 'm': None} 3.5\n");
    expect(run.stderr).toContain('parameter n = 7 (from CANFAR_PARAM_n)');
  });

  test('a value of the wrong type stops the script before any later cell, naming variable, value and type', () => {
    const run = runNotebook(cells, { env: { CANFAR_PARAM_n: 'seven' } });
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain("CANFAR_PARAM_n='seven' is not a valid int (the notebook default is 1)");
  });

  test('an override for a parameter the notebook lacks is reported', () => {
    const run = runNotebook(cells, { env: { CANFAR_PARAM_typo: '1' } });
    expect(run.status).toBe(0);
    expect(run.stderr).toContain('CANFAR_PARAM_typo set but the notebook has no such parameter');
  });

  test('injected-parameters override the defaults, and the environment overrides both', () => {
    const nb: CellSpec[] = [
      { source: 'n = 1', tags: ['parameters'] },
      { source: 'n = 5', tags: ['injected-parameters'] },
      'print(n)',
    ];
    expect(runNotebook(nb).stdout).toBe('5\n');
    expect(runNotebook(nb, { env: { CANFAR_PARAM_n: '9' } }).stdout).toBe('9\n');
  });
});

describe('notebook-only names under plain python', () => {
  test('display() prints, with IPython importable and without it (python -S hides dist-packages)', () => {
    const cells = ['display("shown", 42)\nprint("after")'];
    expect(runNotebook(cells).stdout).toBe('shown 42\nafter\n');
    const bare = runNotebook(cells, { python: ['-S'] });
    expect(bare.stderr).toBe('');
    expect(bare.stdout).toBe('shown 42\nafter\n');
  });

  (hasModule('matplotlib') ? test : test.skip)(
    'figures are saved as PNG files in CANFAR_OUTPUT_DIR, at plt.show() and at the end of a cell',
    () => {
      const run = runNotebook(
        [
          '%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()\nplt.figure()\nplt.plot([3, 1])',
          'print(plt.get_fignums())',
        ],
        { env: { CANFAR_OUTPUT_DIR: 'figures', DISPLAY: '' } },
      );
      expect(run.status).toBe(0);
      expect(run.stdout).toBe('[]\n');
      const files = readdirSync(join(run.dir, 'figures')).sort();
      expect(files).toEqual(['cell1-figure1.png', 'cell1-figure2.png']);
      expect(
        readFileSync(join(run.dir, 'figures', files[0]))
          .subarray(1, 4)
          .toString(),
      ).toBe('PNG');
    },
  );
});

describe('policy ipython runs under IPython', () => {
  (hasModule('IPython') ? test : test.skip)(
    'get_ipython() magics work and a failing cell exits non-zero',
    () => {
      const ok = runNotebook(['!echo from-ipython\nx = !echo captured\nprint(x)\n%cd /'], {
        options: { policy: 'ipython' },
        python: ['-m', 'IPython', '--no-banner', '--quick'],
      });
      expect(ok.stdout).toContain('from-ipython');
      expect(ok.stdout).toContain("['captured']");
      expect(ok.status).toBe(0);
      expect(existsSync(join(ok.dir, 'script.py'))).toBe(true);
      const failing = runNotebook(['print("one")', '1 / 0', 'print("never")'], {
        options: { policy: 'ipython' },
        python: ['-m', 'IPython', '--no-banner', '--quick', '--colors=NoColor'],
      });
      expect(failing.status).toBe(1);
      expect(failing.stdout).toContain('ZeroDivisionError');
      expect(failing.stdout).not.toContain('never');
      expect(failing.stderr).toContain(
        'canfar: cell 2 id=id1 failed with ZeroDivisionError: division by zero',
      );
      const tagged = runNotebook(
        [
          { source: 'x = !echo in-tagged-cell\nprint(x)\n1 / 0', tags: ['raises-exception'] },
          'print("went on")',
        ],
        {
          options: { policy: 'ipython' },
          python: ['-m', 'IPython', '--no-banner', '--quick', '--colors=NoColor'],
        },
      );
      expect(tagged.stdout).toContain("['in-tagged-cell']\nwent on\n");
      expect(tagged.status).toBe(0);
    },
  );
});
