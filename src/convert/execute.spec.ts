/**
 * Converted Python scripts run for real under /usr/bin/python3: what a batch replica does. Each test builds a
 * small notebook, converts it, runs the script in a fresh temporary directory and checks what a user sees:
 * stdout, stderr and the exit status.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertNotebook, encodeParamEnv, type ConvertOptions } from '.';
import { writeRuntime } from '../../test/helpers/notebooks';

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
  writeRuntime(dir);
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

  test('%time, %%time and autoreload run their body once; %pip is not run', () => {
    const run = runNotebook([
      '%load_ext autoreload\n%autoreload 2',
      '%time x = 40\n%timeit -n 1 -r 1 y = 2',
      '%%time\nprint("timed", x + y)',
      '%pip install definitely-not-a-package',
    ]);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('timed 42\n');
  });

  test('%%capture name: the output is captured, name has .stdout .stderr .outputs .show() and ()', () => {
    const run = runNotebook([
      '%%capture out\nprint("captured line")\nimport sys\nprint("captured error", file=sys.stderr)\n!echo from-shell\ndisplay(42)',
      'print("after:", repr(out.stdout), repr(out.stderr), len(out.outputs), out.outputs[0].data)',
      'out.show()\nout()',
      '%%capture --no-stderr --no-display quiet\nprint("quiet out")\nimport sys\nprint("not captured", file=sys.stderr)\ndisplay("shown")',
      'print(repr(quiet.stdout), repr(str(quiet)), quiet.outputs)',
      '%%capture\nprint("discarded")',
    ]);
    // A display outside the capture (--no-display) goes where every display goes: the log, on stderr.
    expect(run.stderr).toBe('captured error\ncaptured error\nnot captured\nshown\n');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(
      [
        "after: 'captured line\\nfrom-shell\\n' 'captured error\\n' 1 {'text/plain': '42'}",
        'captured line',
        'from-shell',
        '42',
        'captured line',
        'from-shell',
        '42',
        "'quiet out\\n' 'quiet out\\n' []",
        '',
      ].join('\n'),
    );
  });

  test('an exception inside %%capture is reported on the real stderr, naming the cell', () => {
    const run = runNotebook(['%%capture c\nprint("lost")\nraise ValueError("inside capture")']);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('ValueError: inside capture');
    expect(run.stderr).toContain('canfar: cell 1 id=id0 failed with ValueError: inside capture');
  });

  test('display-only magics are dropped; %%markdown and %%latex text goes to the log (stderr)', () => {
    const run = runNotebook([
      '%lsmagic',
      '%config InlineBackend.figure_format = "retina"\n%precision 3\nprint("code runs")',
      '%%html\n<b>bold</b>',
      '%%javascript\nconsole.log(1)',
      '%%markdown\n## Results\nSee below.',
      '%%latex\n$x^2$',
    ]);
    expect(run.result.ok).toBe(true);
    expect(run.result.needsIPython).toBeUndefined();
    expect(run.result.diagnostics.filter((d) => d.kind === 'display-only').map((d) => d.cell)).toEqual([
      0, 1, 1, 2, 3, 4, 5,
    ]);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('code runs\n');
    expect(run.stderr).toBe(
      'canfar: cell 5 id=id4 shows in the notebook:\n## Results\nSee below.\ncanfar: cell 6 id=id5 shows in the notebook:\n$x^2$\n',
    );
  });
});

describe("IPython's output history: _, __, ___, Out[n], _n", () => {
  const cells: CellSpec[] = [
    '10',
    'x = 5\nx * 2',
    '99;',
    'None',
    '[_, __, ___]',
    'print(Out[1], Out[2], _2, len(Out), _[0])',
    'def f():\n    return 1\nf() + \\\n  1',
    'print(_)',
  ];
  const expected = '10 10 10 3 10\n2\n';

  test('under python3 (translate and comment policies)', () => {
    for (const policy of ['translate', 'comment'] as const) {
      const run = runNotebook(cells, { options: { policy } });
      expect(run.stderr).toBe('');
      expect(run.stdout).toBe(expected);
    }
  });

  (hasModule('IPython') ? test : test.skip)(
    'under the IPython runner (policy ipython, and own magics)',
    () => {
      const run = runNotebook([...cells, '%%capture c\n!echo x'], { options: { policy: 'ipython' } });
      expect(run.result.needsIPython?.cells).toEqual([8]);
      expect(run.stderr).toBe('');
      expect(run.stdout).toBe(expected);
    },
  );

  test('a notebook that never reads the history keeps its last expressions as written', () => {
    const result = convertNotebook(notebookOf(['x = 1', 'x + 1']));
    expect(result.script).toContain("_canfar.begin(2, 'cell 2 id=id1')\nx + 1\n");
  });
});

describe('notebooks that need IPython run their magics in an IPython shell the script starts', () => {
  (hasModule('IPython') ? test : test.skip)(
    'magics the notebook defines (@register_cell_magic, @register_line_magic) and %load_ext of its own module',
    () => {
      const run = runNotebook([
        'from IPython.core.magic import register_cell_magic, register_line_magic\n\n@register_cell_magic\ndef upper(line, cell):\n    print(cell.upper(), end="")\n\n@register_line_magic\ndef twice(line):\n    return line * 2',
        '%%upper\nshouted\n',
        'y = %twice ab\nprint(y)',
        '%%writefile myext.py\ndef load_ipython_extension(ip):\n    ip.register_magic_function(lambda line: print("ext says", line), "line", "hello")\n',
        '%load_ext myext',
        '%hello world',
        '%who',
        'import sys\nsys.exit(3)',
      ]);
      expect(run.result.ok).toBe(true);
      expect(run.result.interpreter).toEqual({ command: 'python3', args: ['-u'] });
      expect(run.result.needsIPython).toEqual({
        cells: [0, 1, 2, 4, 5, 6],
        message:
          'this notebook needs IPython in the image: cells 1, 2, 3, 5, 6, 7 (register_cell_magic, register_line_magic, %%upper, %twice, %load_ext, %hello, %who)',
      });
      expect(run.stderr).toBe('');
      expect(run.stdout).toBe(
        'SHOUTED\nabab\nWriting myext.py\next says world\nregister_cell_magic\t register_line_magic\t twice\t upper\t y\t \n',
      );
      expect(run.status).toBe(3);
    },
  );

  (hasModule('IPython') ? test : test.skip)(
    'the IPython runner is not a terminal: no escape sequence, a plain traceback, the failing cell named',
    () => {
      const run = runNotebook(['%who', 'def f():\n    return 1 / 0', 'print("two")\nf()', 'print("never")'], {
        options: { policy: 'ipython' },
      });
      expect(run.status).toBe(1);
      expect(run.stdout).toBe('Interactive namespace is empty.\ntwo\n');
      expect(`${run.stdout}${run.stderr}`).not.toContain('\x1b');
      expect(run.stderr).toMatch(/^Traceback \(most recent call last\):\n/);
      expect(run.stderr).toContain('ZeroDivisionError: division by zero');
      expect(run.stderr).toContain(
        'canfar: cell 3 id=id2 failed with ZeroDivisionError: division by zero (raised at cell 2 id=id1, line 2 of the cell)',
      );
    },
  );

  test('without IPython in the image the script stops at once with 127, naming the cells and what to do', () => {
    const run = runNotebook(['print("not run")', '%who'], { python: ['-S'] });
    expect(run.status).toBe(127);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(
      'canfar: this notebook needs IPython (cells 2 use magics that only IPython runs), but',
    );
    expect(run.stderr).toContain('install ipython in the image, or remove those magics');
  });

  test('unknownMagics "error" still refuses, "comment" comments out', () => {
    const refused = convertNotebook(notebookOf(['%who']), { unknownMagics: 'error' });
    expect(refused.ok).toBe(false);
    const commented = convertNotebook(notebookOf(['%who']), { unknownMagics: 'comment' });
    expect(commented.ok).toBe(true);
    expect(commented.needsIPython).toBeUndefined();
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

  test('canfar-b64 values are decoded before typing: =, quotes, newlines, non-ASCII, empty string', () => {
    const query = 'SELECT * FROM t WHERE x=1';
    const text = 'première ligne\nzweite Zeile ✓ "quoted" \'single\' = Ω\n';
    const env = (values: Record<string, string>) =>
      Object.fromEntries(Object.entries(values).map(([k, v]) => [`CANFAR_PARAM_${k}`, encodeParamEnv(v)]));
    const run = runNotebook(cells, {
      env: env({ name: query, items: '["é", "a=b"]', opts: "{'k': 'ü\\n'}", maybe: text }),
    });
    expect(run.stderr).not.toContain('not a valid');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(
      "1 0.5 False 'SELECT * FROM t WHERE x=1' ['é', 'a=b'] {'k': 'ü\\n'} 'première ligne\\nzweite Zeile ✓ \"quoted\" \\'single\\' = Ω\\n'\n",
    );
    const exact = runNotebook([...cells, 'print(name == ' + JSON.stringify(text) + ')'], {
      env: env({ name: text }),
    });
    expect(exact.stdout.split('\n').at(-2)).toBe('True');
    const empty = runNotebook([...cells, 'print(repr(name))'], { env: env({ name: '' }) });
    expect(empty.stdout.split('\n').at(-2)).toBe("''");
    const broken = runNotebook(cells, { env: { CANFAR_PARAM_n: 'canfar-b64:!!' } });
    expect(broken.status).toBe(2);
    expect(broken.stderr).toContain("CANFAR_PARAM_n='canfar-b64:!!' is not valid canfar-b64");
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
  test('display() goes to the log on stderr (stdout holds what the notebook printed), with or without IPython', () => {
    const cells = [
      'display("shown", 42)\nprint("after")',
      'from IPython.display import display as d2, HTML\nd2(HTML("<b>x</b>"))\nh = d2("v1", display_id=True)\nh.update("v2")',
    ];
    const run = runNotebook(cells);
    expect(run.stdout).toBe('after\n');
    expect(run.stderr).toBe('shown 42\n<IPython.core.display.HTML object>\nv1\nv2\n');
    const bare = runNotebook(cells.slice(0, 1), { python: ['-S'] });
    expect(bare.stderr).toBe('shown 42\n');
    expect(bare.stdout).toBe('after\n');
    // With the IPython shell (a magic only IPython runs), its displays go to the log as well.
    const shell = runNotebook(['%who', ...cells]);
    expect(shell.result.needsIPython).toBeDefined();
    expect(shell.stdout).toBe('Interactive namespace is empty.\nafter\n');
    expect(shell.stderr).toBe("'shown'\n42\n<IPython.core.display.HTML object>\n'v1'\n'v2'\n");
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

describe('combine cells', () => {
  test('replicas leave them out; the combine script runs them once after imports, parameters, functions', () => {
    const notebook = JSON.parse(
      readFileSync(join(__dirname, '../../test/fixtures/notebooks/python-combine.ipynb'), 'utf8'),
    );
    const result = convertNotebook(notebook);
    expect(result.ok).toBe(true);
    expect(result.combine?.cells).toEqual([5, 6]);
    expect(result.script).toContain(
      '# %% [cell 6 id=c5] combine: runs once after every replica has completed (combine script)',
    );
    expect(result.script).not.toContain('combined');
    const dir = mkdtempSync(join(tmpdir(), 'canfar-convert-combine-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'script.py'), result.script);
    writeFileSync(join(dir, 'combine.py'), result.combine?.script ?? '');
    writeRuntime(dir);
    const run = (file: string, env: Record<string, string>) =>
      spawnSync(PYTHON, [join(dir, file)], {
        cwd: dir,
        env: { PATH: process.env.PATH, REPLICA_COUNT: '3', ...env },
        encoding: 'utf8',
      });
    const replicas = ['1', '2', '3'].map((id) =>
      run('script.py', { REPLICA_ID: id, CANFAR_PARAM_label: 'x=1' }),
    );
    expect(replicas.map((r) => r.status)).toEqual([0, 0, 0]);
    expect(replicas[1].stdout).toBe('x=1 2 wrote [1, 4, 7]\n');
    const combined = run('combine.py', { CANFAR_PARAM_label: encodeParamEnv('x=1') });
    expect(combined.stderr).toBe("canfar: parameter label = 'x=1' (from CANFAR_PARAM_label)\n");
    expect(combined.status).toBe(0);
    expect(combined.stdout).toBe('x=1 combined 3 parts: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\ncombine done\n');
    expect(JSON.parse(readFileSync(join(dir, 'final.json'), 'utf8'))).toHaveLength(10);
  });
});

describe('policy ipython', () => {
  (hasModule('IPython') ? test : test.skip)(
    'get_ipython() magics work under python3 (the runtime starts IPython) and under ipython itself',
    () => {
      for (const python of [[], ['-m', 'IPython', '--no-banner', '--quick', '--colors=NoColor']]) {
        const ok = runNotebook(['!echo from-ipython\nx = !echo captured\nprint(x)\n%cd /'], {
          options: { policy: 'ipython' },
          python,
        });
        // IPython runs !cmd on a pseudo-terminal (as a notebook's kernel does): lines end in \r\n.
        expect(ok.stdout.replace(/\r\n/g, '\n')).toBe("from-ipython\n['captured']\n/\n");
        expect(ok.status).toBe(0);
        expect(existsSync(join(ok.dir, 'script.py'))).toBe(true);
      }
      const tagged = runNotebook(
        [
          { source: 'x = !echo in-tagged-cell\nprint(x)\n1 / 0', tags: ['raises-exception'] },
          'print("went on")',
        ],
        { options: { policy: 'ipython' } },
      );
      expect(tagged.stdout).toBe("['in-tagged-cell']\nwent on\n");
      expect(tagged.status).toBe(0);
    },
  );
});
