/** Python notebooks -> a script that runs under `python3` (policies translate, comment) or `ipython`. */
import type { Cell, Notebook } from './notebook';
import type { ConversionDiagnostic, ConvertOptions, MagicsPolicy, NotebookParameter } from './types';
import { scanCell, type CellMagic, type MagicLine } from './magics';
import { pythonPrelude } from './prelude';
import { pyRepr } from './pyrepr';
import { cellLabel, commentLines, dropReason, droppedCell, isCodeCell, splitSourceLines } from './common';

interface Context {
  policy: MagicsPolicy;
  unknownMagics: 'error' | 'comment';
  cell: Cell;
  diagnostics: ConversionDiagnostic[];
  /** `from __future__` imports, which must open the module: moved above the runtime. */
  futureImports: string[];
}

const TIMEIT_OPTION = /^-(?:[nrp]\s*\d+|[tcqo])\s*/;
const INSTALLER = /^\s*(?:(?:\S*\/)?(?:python3?|py)\s+-m\s+)?(?:pip3?|conda|mamba|micromamba)\s+install\b/;
// IPython's automagic runs `ls dir` as `%ls dir` in a notebook; nbconvert and plain Python see a syntax error.
const AUTOMAGIC =
  /^\s*(ls|cd|pwd|cat|mkdir|rmdir|rm|cp|mv|less|more|man|pip|conda|env|who|whos|history|alias|run|pinfo)\s+(?!(?:in|is|and|or|not|if|else|for|as)\b)[A-Za-z_./~][^=]*$/;
const DROPPED_MAGICS = new Set(['load_ext autoreload', 'autoreload', 'aimport']);

function diagnose(
  ctx: Context,
  severity: ConversionDiagnostic['severity'],
  line: number,
  kind: string,
  message: string,
) {
  ctx.diagnostics.push({ severity, cell: ctx.cell.index, cellId: ctx.cell.id, line, kind, message });
}

/** Commented-out lines; `pass` keeps an indented block that held only a magic syntactically valid. */
function commented(indent: string, original: string[], note?: string): string[] {
  const suffix = note ? `  # ${note}` : '';
  if (indent === '') return original.map((text, i) => `# ${text}${i === 0 ? suffix : ''}`);
  return original.map((text, i) =>
    i === 0 ? `${indent}pass  # ${text.trim()}${suffix}` : `${indent}# ${text.trim()}`,
  );
}

/** Pads a translated magic to the number of lines it had, so script lines keep mapping to cell lines. */
function padded(first: string, lineCount: number): string[] {
  return [first, ...Array.from({ length: lineCount - 1 }, () => '')];
}

function magicText(piece: MagicLine): string {
  const m = piece.magic;
  if (m.kind === 'system') return `!${m.cmd}`;
  if (m.kind === 'getoutput') return piece.target ? `!${m.cmd}` : `!!${m.cmd}`;
  if (m.kind === 'help') return `${m.target}${m.double ? '??' : '?'}`;
  return `%${m.name}${m.args ? ' ' + m.args : ''}`;
}

// ---- policy ipython: exactly what IPython's TransformerManager (and so nbconvert) writes ----

function ipythonLine(piece: MagicLine): string {
  const m = piece.magic;
  const assign = piece.target ? `${piece.target} = ` : '';
  let call: string;
  if (m.kind === 'system') call = `get_ipython().system(${pyRepr(m.cmd)})`;
  else if (m.kind === 'getoutput') call = `get_ipython().getoutput(${pyRepr(m.cmd)})`;
  else if (m.kind === 'magic') call = `get_ipython().run_line_magic(${pyRepr(m.name)}, ${pyRepr(m.args)})`;
  else {
    const method = m.double ? 'pinfo2' : m.target.includes('*') ? 'psearch' : 'pinfo';
    call = `get_ipython().run_line_magic(${pyRepr(method)}, ${pyRepr(m.target)})`;
  }
  return piece.indent + assign + call;
}

// ---- policy translate ----

function unknown(ctx: Context, piece: MagicLine, what: string): string[] {
  if (ctx.unknownMagics === 'comment') {
    diagnose(
      ctx,
      'warning',
      piece.line,
      'unknown-magic',
      `${what} commented out: it has no plain-Python translation`,
    );
    return commented(piece.indent, piece.original, 'commented out by canfar: unknown magic');
  }
  diagnose(
    ctx,
    'error',
    piece.line,
    'unknown-magic',
    `${what} has no plain-Python translation: remove it, convert with policy "ipython" (the script then runs under ipython), or with unknown magics "comment" to comment it out`,
  );
  return commented(piece.indent, piece.original, 'unknown magic');
}

function install(ctx: Context, piece: MagicLine): string[] {
  diagnose(
    ctx,
    'warning',
    piece.line,
    'package-install',
    `\`${piece.original[0].trim()}\` commented out: install packages in the container image, not at run time in each replica`,
  );
  return commented(piece.indent, piece.original, 'commented out by canfar: install packages in the image');
}

function translateLine(ctx: Context, piece: MagicLine): string[] {
  const m = piece.magic;
  const { indent, lineCount } = piece;
  const assign = piece.target ? `${piece.target} = ` : '';
  const call = (expr: string) => padded(indent + assign + expr, lineCount);
  if (m.kind === 'help') {
    diagnose(ctx, 'info', piece.line, 'help-dropped', `\`${magicText(piece)}\` (help) dropped`);
    return commented(indent, piece.original, 'help, dropped by canfar');
  }
  if (m.kind === 'system' || m.kind === 'getoutput') {
    if (INSTALLER.test(m.cmd)) return install(ctx, piece);
    // `!!cmd` alone displays the output in a notebook: in a script, run it (checked) so the output is printed.
    if (!piece.target) return call(`_canfar.system(${pyRepr(m.cmd)})`);
    return call(`_canfar.getoutput(${pyRepr(m.cmd)})`);
  }
  const name = m.name;
  const args = m.args;
  switch (name) {
    case 'system':
    case 'sx':
      return piece.target
        ? call(`_canfar.getoutput(${pyRepr(args)})`)
        : call(`_canfar.system(${pyRepr(args)})`);
    case 'cd':
      return call(`_canfar.cd(${pyRepr(args)})`);
    case 'env':
    case 'set_env':
      return call(`_canfar.env(${pyRepr(args)})`);
    case 'pip':
    case 'conda':
    case 'mamba':
    case 'micromamba':
      return install(ctx, piece);
    case 'matplotlib':
      diagnose(
        ctx,
        'info',
        piece.line,
        'matplotlib',
        `\`${magicText(piece)}\`: figures are saved as PNG files, not shown`,
      );
      return call(`_canfar.matplotlib(${pyRepr(args)})`);
    case 'time':
    case 'timeit': {
      let statement = args.trim();
      if (name === 'timeit') {
        if (/(^|\s)-o\b/.test(statement) && piece.target) return unknown(ctx, piece, `\`%timeit -o\``);
        while (TIMEIT_OPTION.test(statement)) statement = statement.replace(TIMEIT_OPTION, '');
      }
      diagnose(
        ctx,
        'info',
        piece.line,
        'timing-unwrapped',
        `\`%${name}\` removed: the statement runs once, untimed`,
      );
      return statement === ''
        ? commented(indent, piece.original)
        : padded(indent + assign + statement, lineCount);
    }
    case 'run': {
      if (/\.ipynb\b/.test(args)) return unknown(ctx, piece, '`%run` of a notebook');
      return call(`_canfar.run(${pyRepr(args)})`);
    }
    case 'load_ext':
    case 'autoreload':
    case 'aimport': {
      const key = name === 'load_ext' ? `load_ext ${args.trim()}` : name;
      if (!DROPPED_MAGICS.has(key)) return unknown(ctx, piece, `\`%${name} ${args.trim()}\``);
      diagnose(
        ctx,
        'info',
        piece.line,
        'autoreload-dropped',
        `\`${magicText(piece)}\` dropped: nothing reloads in a batch`,
      );
      return commented(indent, piece.original, 'dropped by canfar');
    }
    default:
      return unknown(ctx, piece, `\`%${name}\``);
  }
}

function translateCellMagic(ctx: Context, magic: CellMagic): string[] {
  const head = `%%${magic.name}${magic.args ? ' ' + magic.args : ''}`;
  const args = magic.args.trim();
  const blank = Array.from({ length: magic.line - 1 }, () => '');
  switch (magic.name) {
    case 'bash':
    case 'sh':
      if (args !== '') {
        return [
          ...blank,
          ...unknownCell(ctx, magic, `\`${head}\` (options of a shell cell magic are not translated)`),
        ];
      }
      return [...blank, `_canfar.shell(${pyRepr(magic.body)}, ${pyRepr(magic.name)})`];
    case 'writefile':
      return [...blank, `_canfar.writefile(${pyRepr(magic.args)}, ${pyRepr(magic.body)})`];
    case 'time':
    case 'timeit':
    case 'capture': {
      let setup = args;
      if (magic.name === 'timeit') while (TIMEIT_OPTION.test(setup)) setup = setup.replace(TIMEIT_OPTION, '');
      const captureTarget = args.split(/\s+/).filter((word) => word !== '' && !word.startsWith('-'));
      if (magic.name === 'capture' && captureTarget.length > 0) {
        diagnose(
          ctx,
          'warning',
          magic.line,
          'capture-unwrapped',
          `\`${head}\`: output is not captured, so the variable it names is not defined in the script`,
        );
      } else {
        diagnose(
          ctx,
          'info',
          magic.line,
          'cell-magic-unwrapped',
          `\`%%${magic.name}\` removed: the body runs as is`,
        );
      }
      const first = magic.name === 'timeit' && setup !== '' ? setup : `# ${head}`;
      // The body may hold line magics itself: convert it as a cell of its own, one line further down.
      const inner = pythonCellBody(ctx, magic.body, magic.line);
      return [...blank, first, ...inner];
    }
    default:
      return [...blank, ...unknownCell(ctx, magic, `\`%%${magic.name}\``)];
  }
}

function unknownCell(ctx: Context, magic: CellMagic, what: string): string[] {
  const piece: MagicLine = {
    line: magic.line,
    lineCount: 1,
    indent: '',
    magic: { kind: 'magic', name: magic.name, args: magic.args },
    original: [`%%${magic.name}${magic.args ? ' ' + magic.args : ''}`, ...splitSourceLines(magic.body)],
  };
  return unknown(ctx, piece, what);
}

/** Converts a cell's source (or a cell magic's body, `lineOffset` lines down) to Python lines. */
function pythonCellBody(ctx: Context, source: string, lineOffset = 0): string[] {
  const scanned = scanCell(source);
  const shift = (n: number) => n + lineOffset;
  if (scanned.cellMagic) {
    const magic = { ...scanned.cellMagic, line: shift(scanned.cellMagic.line) };
    if (ctx.policy === 'ipython') {
      return [
        ...Array.from({ length: scanned.cellMagic.line - 1 }, () => ''),
        `get_ipython().run_cell_magic(${pyRepr(magic.name)}, ${pyRepr(magic.args)}, ${pyRepr(magic.body)})`,
      ];
    }
    if (ctx.policy === 'comment') {
      diagnose(
        ctx,
        'warning',
        magic.line,
        'magic-commented',
        `cell magic \`%%${magic.name}\` commented out (the whole cell)`,
      );
      return splitSourceLines(source).map((text) => (text === '' ? '#' : `# ${text}`));
    }
    return translateCellMagic(ctx, magic);
  }
  const out: string[] = [];
  for (const piece of scanned.pieces) {
    if ('code' in piece) {
      if (/^from\s+__future__\s+import\b/.test(piece.code)) {
        ctx.futureImports.push(piece.code);
        out.push(`# ${piece.code}  # moved to the top of the script by canfar`);
      } else {
        out.push(piece.code);
        const automagic = piece.statementStart ? AUTOMAGIC.exec(piece.code) : null;
        if (automagic) {
          diagnose(
            ctx,
            'warning',
            shift(piece.line),
            'automagic',
            `\`${piece.code.trim()}\` looks like IPython automagic (a magic without its %), which is a syntax error in a script: write %${automagic[1]} or !${automagic[1]}`,
          );
        }
        if (ctx.policy === 'translate' && /\bget_ipython\s*\(/.test(piece.code)) {
          diagnose(
            ctx,
            'warning',
            shift(piece.line),
            'get-ipython',
            'get_ipython() is defined only under IPython: this line fails under python3 (convert with policy "ipython" to run the script under ipython)',
          );
        }
      }
      continue;
    }
    const shifted = { ...piece, line: shift(piece.line) };
    if (ctx.policy === 'ipython') out.push(...padded(ipythonLine(shifted), shifted.lineCount));
    else if (ctx.policy === 'comment') {
      diagnose(ctx, 'warning', shifted.line, 'magic-commented', `\`${magicText(shifted)}\` commented out`);
      out.push(...commented(shifted.indent, shifted.original));
    } else out.push(...translateLine(ctx, shifted));
  }
  return out;
}

export interface PythonConversion {
  script: string;
  diagnostics: ConversionDiagnostic[];
  parameters: NotebookParameter[];
}

export function convertPython(
  notebook: Notebook,
  options: ConvertOptions,
  parameters: NotebookParameter[],
): PythonConversion {
  const policy = options.policy ?? 'translate';
  const diagnostics: ConversionDiagnostic[] = [];
  const futureImports: string[] = [];
  const body: string[] = [];
  const runnable = notebook.cells.filter(
    (cell) => isCodeCell(cell) && cell.source.trim() !== '' && dropReason(cell) === undefined,
  );
  const total = runnable.length;
  const lastParameterCell = [...notebook.cells]
    .reverse()
    .find((cell) => cell.tags.includes('injected-parameters') || cell.tags.includes('parameters'));
  let ordinal = 0;
  let usesDisplay = false;
  let usesMatplotlib = false;

  for (const cell of notebook.cells) {
    const label = cellLabel(cell);
    const drop = dropReason(cell);
    const isCode = isCodeCell(cell);
    if (cell.source.trim() === '') continue;
    if (drop !== undefined) {
      body.push(...droppedCell(cell, drop, '#', diagnostics));
      continue;
    }
    if (!isCode) {
      if (cell.type === 'raw') {
        diagnostics.push({
          severity: 'info',
          cell: cell.index,
          cellId: cell.id,
          kind: 'raw-cell',
          message: 'raw cell kept as a comment (raw cells are never run; tag it active-py to run it)',
        });
      }
      body.push('', `# %% [${cell.type}] [${label}]`, ...commentLines(cell.source, '#'));
      continue;
    }
    ordinal += 1;
    const ctx: Context = {
      policy,
      unknownMagics: options.unknownMagics ?? 'error',
      cell,
      diagnostics,
      futureImports,
    };
    const code = pythonCellBody(ctx, cell.source);
    const joined = code.join('\n');
    if (/\bdisplay\s*\(/.test(joined)) usesDisplay = true;
    if (/\bmatplotlib\b|\bpyplot\b|_canfar\.matplotlib\(/.test(joined)) usesMatplotlib = true;
    body.push('', `# %% [${label}]`);
    if (cell.tags.includes('raises-exception')) {
      body.push(`_canfar.expect_error(${ordinal}, ${pyRepr(label)}, ${pyRepr(code.join('\n') + '\n')})`);
    } else {
      body.push(`_canfar.begin(${ordinal}, ${pyRepr(label)})`, ...code);
    }
    if (cell === lastParameterCell && parameters.length > 0) {
      body.push(
        '',
        '# canfar: each parameter can be overridden with the environment variable CANFAR_PARAM_<name>',
        ...parameters.map((p) => `${p.name} = _canfar.param(${pyRepr(p.name)}, ${p.name})`),
        `_canfar.check_params([${parameters.map((p) => pyRepr(p.name)).join(', ')}])`,
      );
    }
  }
  if (total === 0) {
    diagnostics.push({
      severity: 'warning',
      cell: 0,
      kind: 'no-code',
      message: 'the notebook has no code cell to run',
    });
  }

  const where = options.notebookPath ? ` from ${options.notebookPath}` : '';
  const interpreter = policy === 'ipython' ? 'ipython' : 'python3';
  const header = [
    '#!/usr/bin/env ' + interpreter,
    `# Converted${where} by canfar-lab convert (magics policy: ${policy}); run with: ${interpreter} <this file>`,
    '# Cells are marked `# %% [cell N id=ID]`, N counting every cell of the notebook from 1.',
    ...futureImports,
  ];
  const prelude = pythonPrelude({
    progress: options.progress ?? false,
    codeCells: total,
    display: usesDisplay && policy !== 'ipython',
    matplotlib: usesMatplotlib,
  });
  return { script: [...header, prelude.trimEnd(), ...body].join('\n') + '\n', diagnostics, parameters };
}

/** One cell's source converted under a policy, outside any notebook (used to compare with IPython itself). */
export function convertPythonCell(
  source: string,
  policy: MagicsPolicy,
  unknownMagics: 'error' | 'comment' = 'error',
): { code: string; diagnostics: ConversionDiagnostic[] } {
  const cell: Cell = { index: 0, type: 'code', source, tags: [] };
  const ctx: Context = { policy, unknownMagics, cell, diagnostics: [], futureImports: [] };
  return { code: pythonCellBody(ctx, source).join('\n'), diagnostics: ctx.diagnostics };
}
