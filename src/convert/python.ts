/** Python notebooks -> a script that runs under `python3` (policies translate, comment) or `ipython`. */
import type { Cell, Notebook } from './notebook';
import type {
  CombineScript,
  ConversionDiagnostic,
  ConvertOptions,
  MagicsPolicy,
  NotebookParameter,
  UnknownMagics,
} from './types';
import { cleanupCell, scanCell, type CellMagic, type MagicLine } from './magics';
import { pythonRuntimeLines } from './pyruntime';
import { pyRepr } from './pyrepr';
import { lastExpressionLine, topLevelCode } from './pylex';
import { cellLabel, commentLines, dropReason, droppedCell, isCodeCell, splitSourceLines } from './common';

interface Context {
  policy: MagicsPolicy;
  unknownMagics: UnknownMagics;
  cell: Cell;
  diagnostics: ConversionDiagnostic[];
  /** `from __future__` imports, which must open the module: moved above the runtime. */
  futureImports: string[];
  /** What in this cell needs IPython (magics IPython alone runs, get_ipython()); empty when nothing does. */
  ipython: string[];
}

const TIMEIT_OPTION = /^-(?:[nrp]\s*\d+|[tcqo])\s*/;
const INSTALLER = /^\s*(?:(?:\S*\/)?(?:python3?|py)\s+-m\s+)?(?:pip3?|conda|mamba|micromamba)\s+install\b/;
// IPython's automagic runs `ls dir` as `%ls dir` in a notebook; nbconvert and plain Python see a syntax error.
const AUTOMAGIC =
  /^\s*(ls|cd|pwd|cat|mkdir|rmdir|rm|cp|mv|less|more|man|pip|conda|env|who|whos|history|alias|run|pinfo)\s+(?!(?:in|is|and|or|not|if|else|for|as)\b)[A-Za-z_./~][^=]*$/;
const DROPPED_MAGICS = new Set(['load_ext autoreload', 'autoreload', 'aimport']);
/** Line magics that only change what the notebook shows or how it is used interactively: dropped in a batch. */
const DISPLAY_ONLY_LINE: Record<string, string> = {
  lsmagic: 'lists the magics',
  magic: 'shows the help on magics',
  precision: 'sets how floats are displayed',
  quickref: 'shows the quick reference',
  pprint: 'switches pretty display',
  colors: 'sets the colours of the display',
  qtconsole: 'opens a desktop window',
  connect_info: "shows the kernel's connection",
  autosave: "sets the notebook's autosave",
  automagic: 'switches magics without %',
  autocall: 'switches calls without parentheses',
};
/** `%config` of these only changes the notebook's display or completion. */
const DISPLAY_ONLY_CONFIG = /^\s*(?:InlineBackend|IPCompleter|Completer)\b/;
/** Cell magics that render their body in the notebook page (markdown and LaTeX text goes to the log). */
const DISPLAY_ONLY_CELL: Record<string, string> = {
  html: 'HTML',
  HTML: 'HTML',
  javascript: 'JavaScript run by the browser',
  js: 'JavaScript run by the browser',
  svg: 'SVG',
  latex: 'LaTeX',
  markdown: 'Markdown',
};
/** Code that needs an IPython shell: get_ipython(), and what registers magics with it. */
const NEEDS_SHELL = /\bget_ipython\s*\(|\bregister_(?:line_|cell_|line_cell_)magic\b|\bmagics_class\b/;

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

/** `what` in this cell runs in the IPython shell the script starts: the image needs IPython. */
function needsIPython(ctx: Context, line: number, kind: string, message: string, what: string): void {
  if (ctx.ipython.includes(what)) return;
  ctx.ipython.push(what);
  diagnose(ctx, 'info', line, kind, message);
}

function unknown(ctx: Context, piece: MagicLine, what: string): string[] {
  if (ctx.unknownMagics === 'ipython') {
    needsIPython(
      ctx,
      piece.line,
      'ipython-magic',
      `${what} has no plain-Python translation: IPython runs it (the script starts an IPython shell, so the image needs IPython)`,
      magicText(piece).split(' ')[0],
    );
    return padded(ipythonLine(piece), piece.lineCount);
  }
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
    `${what} has no plain-Python translation: remove it, or convert with unknown magics "ipython" (IPython runs it; the default) or "comment" (commented out)`,
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
    case 'config':
      if (args.trim() !== '' && !DISPLAY_ONLY_CONFIG.test(args))
        return unknown(ctx, piece, `\`%config ${args.trim()}\``);
      return displayOnly(ctx, piece, 'configures the notebook display');
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
    case 'xmode':
    case 'pdb': {
      // They change how errors are shown interactively; what they print is kept, so stdout stays the same.
      const word = args.trim().split(/\s+/)[0] ?? '';
      const said =
        name === 'xmode'
          ? word && `Exception reporting mode: ${word[0].toUpperCase()}${word.slice(1).toLowerCase()}`
          : `Automatic pdb calling has been turned ${/^(0|off|false)$/i.test(word) ? 'OFF' : 'ON'}`;
      diagnose(
        ctx,
        'info',
        piece.line,
        'display-only',
        `\`${magicText(piece)}\` dropped: it ${name === 'xmode' ? 'sets how tracebacks are displayed' : 'opens the interactive debugger on errors'}, which has no effect in a batch run (what it prints is kept)`,
      );
      if (!said || piece.indent !== '')
        return commented(piece.indent, piece.original, 'display only, dropped by canfar');
      return padded(
        `print(${pyRepr(said)})  # ${piece.original[0].trim()}: display only, dropped by canfar`,
        lineCount,
      );
    }
    default:
      if (name in DISPLAY_ONLY_LINE) return displayOnly(ctx, piece, DISPLAY_ONLY_LINE[name]);
      return unknown(ctx, piece, `\`%${name}\``);
  }
}

function displayOnly(ctx: Context, piece: MagicLine, what: string): string[] {
  diagnose(
    ctx,
    'info',
    piece.line,
    'display-only',
    `\`${magicText(piece)}\` dropped: it ${what}, which has no effect in a batch run`,
  );
  return commented(piece.indent, piece.original, 'display only, dropped by canfar');
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
    case 'file':
      return [...blank, `_canfar.writefile(${pyRepr(magic.args)}, ${pyRepr(magic.body)})`];
    case 'capture':
      return [...blank, ...translateCapture(ctx, magic, head)];
    case 'time':
    case 'timeit': {
      let setup = args;
      if (magic.name === 'timeit') while (TIMEIT_OPTION.test(setup)) setup = setup.replace(TIMEIT_OPTION, '');
      diagnose(
        ctx,
        'info',
        magic.line,
        'cell-magic-unwrapped',
        `\`%%${magic.name}\` removed: the body runs as is`,
      );
      const first = magic.name === 'timeit' && setup !== '' ? setup : `# ${head}`;
      // The body may hold line magics itself: convert it as a cell of its own, one line further down.
      const inner = pythonCellBody(ctx, magic.body, magic.line);
      return [...blank, first, ...inner];
    }
    default:
      if (magic.name in DISPLAY_ONLY_CELL) {
        const what = DISPLAY_ONLY_CELL[magic.name];
        const toLog = magic.name === 'markdown' || magic.name === 'latex';
        diagnose(
          ctx,
          'info',
          magic.line,
          'display-only',
          `\`%%${magic.name}\` dropped: the notebook shows its ${what}, which has no effect in a batch run${toLog ? ' (its text goes to the log)' : ''}`,
        );
        return [
          ...blank,
          `# ${head}  (display only, dropped by canfar${toLog ? '; its text goes to the log' : ''})`,
          ...(toLog ? [`_canfar.log(${pyRepr(magic.body)})`] : commentLines(magic.body, '#')),
        ];
      }
      return [...blank, ...unknownCell(ctx, magic, `\`%%${magic.name}\``)];
  }
}

/**
 * `%%capture [--no-stdout] [--no-stderr] [--no-display] [name]`: the body between `_canfar.capture(...)` and
 * `name = _canfar.captured()`, an object with IPython's `.stdout .stderr .outputs .show()` and `()`.
 */
function translateCapture(ctx: Context, magic: CellMagic, head: string): string[] {
  const words = magic.args
    .trim()
    .split(/\s+/)
    .filter((word) => word !== '');
  const known = new Set(['--no-stdout', '--no-stderr', '--no-display']);
  const names = words.filter((word) => !word.startsWith('-'));
  if (words.some((word) => word.startsWith('-') && !known.has(word)) || names.length > 1) {
    return unknownCell(ctx, magic, `\`${head}\` (its options)`);
  }
  const flags = [
    words.includes('--no-stdout') ? 'stdout=False' : '',
    words.includes('--no-stderr') ? 'stderr=False' : '',
    words.includes('--no-display') ? 'display=False' : '',
  ].filter((flag) => flag !== '');
  diagnose(
    ctx,
    'info',
    magic.line,
    'capture',
    names.length > 0
      ? `\`${head}\`: the output is captured into ${names[0]} (.stdout, .stderr, .outputs, .show())`
      : `\`${head}\`: the output is captured and discarded`,
  );
  const inner = pythonCellBody(ctx, magic.body, magic.line);
  return [
    `_canfar.capture(${flags.join(', ')})  # ${head}`,
    ...inner,
    names.length > 0 ? `${names[0]} = _canfar.captured()` : '_canfar.captured()',
  ];
}

function unknownCell(ctx: Context, magic: CellMagic, what: string): string[] {
  if (ctx.unknownMagics === 'ipython') {
    needsIPython(
      ctx,
      magic.line,
      'ipython-magic',
      `${what} has no plain-Python translation: IPython runs it (the script starts an IPython shell, so the image needs IPython)`,
      `%%${magic.name}`,
    );
    return [
      `get_ipython().run_cell_magic(${pyRepr(magic.name)}, ${pyRepr(magic.args)}, ${pyRepr(magic.body)})`,
    ];
  }
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
      if (!ctx.ipython.includes(`%%${magic.name}`)) ctx.ipython.push(`%%${magic.name}`);
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
        const shell = NEEDS_SHELL.exec(piece.code);
        if (shell) {
          const what = shell[0].replace(/\s*\($/, '()');
          if (ctx.policy === 'ipython') {
            if (!ctx.ipython.includes(what)) ctx.ipython.push(what);
          } else {
            needsIPython(
              ctx,
              shift(piece.line),
              'get-ipython',
              `${what} needs IPython: the script starts an IPython shell for this notebook (the image needs IPython)`,
              what,
            );
          }
        }
      }
      continue;
    }
    const shifted = { ...piece, line: shift(piece.line) };
    if (ctx.policy === 'ipython') {
      const what = magicText(shifted).split(' ')[0];
      if (!ctx.ipython.includes(what)) ctx.ipython.push(what);
      out.push(...padded(ipythonLine(shifted), shifted.lineCount));
    } else if (ctx.policy === 'comment') {
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
  /** 0-based indices of the cells that need IPython (both scripts), with what in them does. */
  ipython: { cell: number; what: string[] }[];
  combine?: CombineScript;
}

/** Tags of the cells that run in the combine script too, before the `combine` cells. */
export const COMBINE_CONTEXT_TAGS = ['imports', 'functions', 'parameters', 'injected-parameters'];

/** Names of IPython's output history used anywhere: then `Out[n] = ` records each cell's last expression. */
const HISTORY_NAME = /(?<![\w.])(?:Out|_oh|_{1,3}|_\d+)(?!\w)/;

interface ConvertedCell {
  cell: Cell;
  code: string[];
  ipython: string[];
  cellMagic: boolean;
  /** Execution count in the notebook run top to bottom (IPython's `n` of `Out[n]`). */
  count: number;
}

export function convertPython(
  notebook: Notebook,
  options: ConvertOptions,
  parameters: NotebookParameter[],
): PythonConversion {
  const policy = options.policy ?? 'translate';
  const diagnostics: ConversionDiagnostic[] = [];
  const futureImports: string[] = [];
  const converted = new Map<Cell, ConvertedCell>();
  let count = 0;
  for (const cell of notebook.cells) {
    if (!isCodeCell(cell) || cell.source.trim() === '' || dropReason(cell) !== undefined) continue;
    count += 1;
    const ctx: Context = {
      policy,
      unknownMagics: options.unknownMagics ?? 'ipython',
      cell,
      diagnostics,
      futureImports,
      ipython: [],
    };
    const source = cleanupCell(cell.source);
    const code = pythonCellBody(ctx, source);
    const cellMagic = scanCell(source).cellMagic !== undefined;
    converted.set(cell, { cell, code, ipython: ctx.ipython, cellMagic, count });
  }
  const usesHistory = [...converted.values()].some((c) =>
    c.code.some((line) => HISTORY_NAME.test(topLevelCodeOfLine(line))),
  );
  const lastParameterCell = [...notebook.cells]
    .reverse()
    .find((cell) => cell.tags.includes('injected-parameters') || cell.tags.includes('parameters'));
  const isCombine = (cell: Cell) => cell.tags.includes('combine');

  const where = options.notebookPath ? ` from ${options.notebookPath}` : '';
  const build = (part: 'replicas' | 'combine') => {
    const keep = (cell: Cell) =>
      part === 'replicas'
        ? !isCombine(cell)
        : isCombine(cell) || COMBINE_CONTEXT_TAGS.some((tag) => cell.tags.includes(tag));
    const runnable = [...converted.values()].filter((c) => keep(c.cell));
    const body: string[] = [];
    let k = 0;
    let usesDisplay = false;
    let usesMatplotlib = false;
    for (const cell of notebook.cells) {
      const label = cellLabel(cell);
      if (cell.source.trim() === '') continue;
      if (part === 'combine' && !(converted.has(cell) && keep(cell))) continue;
      const drop = dropReason(cell);
      if (drop !== undefined) {
        body.push(...droppedCell(cell, drop, '#', diagnostics));
        continue;
      }
      if (!isCodeCell(cell)) {
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
      const c = converted.get(cell) as ConvertedCell;
      if (!keep(cell)) {
        diagnostics.push({
          severity: 'info',
          cell: cell.index,
          cellId: cell.id,
          kind: 'combine-cell',
          message:
            'tagged combine: left out of the replicas; runs once in the combine script, after every replica has completed',
        });
        body.push(
          '',
          `# %% [${label}] combine: runs once after every replica has completed (combine script)`,
        );
        continue;
      }
      k += 1;
      const code = [...c.code];
      const joined = code.join('\n');
      if (/\b(?:update_)?display\s*\(|\bIPython\.display\b/.test(joined)) usesDisplay = true;
      if (/\bmatplotlib\b|\bpyplot\b|_canfar\.matplotlib\(/.test(joined)) usesMatplotlib = true;
      body.push('', `# %% [${label}]`);
      if (cell.tags.includes('raises-exception')) {
        body.push(`_canfar.expect_error(${k}, ${pyRepr(label)}, ${pyRepr(joined + '\n')})`);
      } else {
        if (usesHistory && !c.cellMagic) {
          const last = lastExpressionLine(code);
          // The runtime's own calls (a translated `!cmd`) return nothing: they stay as they are.
          if (last !== undefined && !code[last].startsWith('_canfar.')) {
            code[last] = `Out[${c.count}] = ${code[last]}`;
          }
        }
        body.push(`_canfar.begin(${k}, ${pyRepr(label)})`, ...code);
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
    const header = [
      '#!/usr/bin/env python3',
      part === 'replicas'
        ? `# Converted${where} by canfar-lab convert (magics policy: ${policy}); run with: python3 <this file>`
        : `# The combine script${where} (canfar-lab convert, magics policy: ${policy}): the cells tagged combine, after ${COMBINE_CONTEXT_TAGS.join(', ')}; it runs once, after every replica has completed`,
      '# Cells are marked `# %% [cell N id=ID]`, N counting every cell of the notebook from 1.',
      ...futureImports,
      ...pythonRuntimeLines(
        {
          cells: runnable.length,
          progress: options.progress ?? false,
          matplotlib: usesMatplotlib,
          display: usesDisplay && policy !== 'ipython',
          ipython: runnable.filter((r) => r.ipython.length > 0).map((r) => r.cell.index + 1),
        },
        options.runtime ?? 'module',
      ),
    ];
    return { script: [...header, ...body].join('\n') + '\n', runnable };
  };

  // The combine script first: its diagnostics (dropped cells...) are the replicas' too, so they are discarded.
  const combineCells = notebook.cells.filter((cell) => converted.has(cell) && isCombine(cell));
  let combine: CombineScript | undefined;
  if (combineCells.length > 0) {
    const before = diagnostics.length;
    combine = { script: build('combine').script, cells: combineCells.map((cell) => cell.index) };
    diagnostics.splice(before);
  }
  const replicas = build('replicas');
  if (converted.size === 0) {
    diagnostics.push({
      severity: 'warning',
      cell: 0,
      kind: 'no-code',
      message: 'the notebook has no code cell to run',
    });
  }
  const ipython = [...converted.values()]
    .filter((c) => c.ipython.length > 0)
    .map((c) => ({ cell: c.cell.index, what: c.ipython }));
  return { script: replicas.script, diagnostics, parameters, ipython, ...(combine ? { combine } : {}) };
}

function topLevelCodeOfLine(line: string): string {
  return topLevelCode(line, true);
}

/** One cell's source converted under a policy, outside any notebook (used to compare with IPython itself). */
export function convertPythonCell(
  source: string,
  policy: MagicsPolicy,
  unknownMagics: UnknownMagics = 'ipython',
): { code: string; diagnostics: ConversionDiagnostic[] } {
  const cell: Cell = { index: 0, type: 'code', source, tags: [] };
  const ctx: Context = { policy, unknownMagics, cell, diagnostics: [], futureImports: [], ipython: [] };
  return { code: pythonCellBody(ctx, cleanupCell(source)).join('\n'), diagnostics: ctx.diagnostics };
}
