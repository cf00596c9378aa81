/**
 * The Python runtime written at the top of every converted Python script: what the notebook's kernel provided
 * and plain `python3` does not, kept in one closure so the notebook's namespace gains a single name, `_canfar`.
 *
 * - `begin(k, label)` before each code cell: progress on stderr, figures of the previous cell saved.
 * - an excepthook that names the failing cell (and the cell and line where the exception was raised) after the
 *   usual traceback; Python then exits 1. SystemExit(0) stays a success.
 * - checked shell commands (`!cmd`, `%%bash`), captured output (`x = !cmd`), `%cd`, `%env`, `%run`,
 *   `%%writefile`, `%matplotlib`, with IPython's `$name`/`{expr}` expansion in the caller's namespace.
 * - `param(name, default)`: the CANFAR_PARAM_<name> override, typed like the default (as papermill does).
 * - figures: the Agg backend, and every open figure saved as a PNG into CANFAR_OUTPUT_DIR (default: the working
 *   directory) at plt.show() and at the end of each cell, as the inline backend would have shown it.
 */

const RUNTIME = String.raw`
def _canfar_runtime(progress, total):
    import atexit, ast, json, os, re, runpy, shlex, string, subprocess, sys, traceback, linecache

    state = {'cell': None, 'figures': 0, 'pyplot_patched': False}
    script = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else None
    marker = re.compile(r'^# %% \[(cell \d+(?: id=\S+)?)\]')

    def err(message):
        sys.stdout.flush()
        print('canfar: ' + message, file=sys.stderr, flush=True)

    def output_dir():
        path = os.environ.get('CANFAR_OUTPUT_DIR') or os.getcwd()
        os.makedirs(path, exist_ok=True)
        return path

    def save_figures():
        pyplot = sys.modules.get('matplotlib.pyplot')
        if pyplot is None:
            return
        for number in pyplot.get_fignums():
            state['figures'] += 1
            cell = (state['cell'] or 'cell 0').split(' ')[1]
            path = os.path.join(output_dir(), 'cell%s-figure%d.png' % (cell, state['figures']))
            pyplot.figure(number).savefig(path)
            err('figure saved to ' + path)
        pyplot.close('all')

    def patch_pyplot():
        pyplot = sys.modules.get('matplotlib.pyplot')
        if pyplot is None or state['pyplot_patched']:
            return
        state['pyplot_patched'] = True
        pyplot.show = lambda *args, **kwargs: save_figures()

    class PyplotImportHook:
        # Patches plt.show as soon as pyplot is imported, so a show() in the importing cell saves too.
        def find_spec(self, name, path=None, target=None):
            if name != 'matplotlib.pyplot':
                return None
            import importlib.util
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            if spec is None or spec.loader is None:
                return spec
            exec_module = spec.loader.exec_module
            def exec_and_patch(module):
                exec_module(module)
                patch_pyplot()
            spec.loader.exec_module = exec_and_patch
            return spec

    def uses_matplotlib():
        os.environ['MPLBACKEND'] = 'Agg'
        if 'matplotlib.pyplot' in sys.modules:
            patch_pyplot()
        else:
            sys.meta_path.insert(0, PyplotImportHook())

    def begin(k, label):
        save_figures()
        state['cell'] = label
        if progress or os.environ.get('CANFAR_PROGRESS'):
            err('cell %d/%d [%s]' % (k, total, label))

    def cell_line(lineno):
        # Maps a line of this script to (cell label, line in the cell) from the cell markers.
        if script is None:
            return None
        for number in range(lineno - 1, 0, -1):
            found = marker.match(linecache.getline(script, number))
            if found:
                offset = 2 if linecache.getline(script, number + 1).startswith('_canfar.begin(') else 1
                return found.group(1), lineno - number - offset + 1
        return None

    def excepthook(kind, value, tb):
        sys.__excepthook__(kind, value, tb)
        raised = None
        for frame, lineno in traceback.walk_tb(tb):
            if script is not None and os.path.abspath(frame.f_code.co_filename) == script:
                raised = cell_line(lineno)
        if isinstance(value, SyntaxError) and value.lineno and value.filename and script and os.path.abspath(value.filename) == script:
            raised = cell_line(value.lineno)
        where = state['cell'] or 'the script before its first cell'
        detail = '' if raised is None else ' (raised at %s, line %d of the cell)' % raised
        err('%s failed with %s: %s%s' % (where, kind.__name__, value, detail))

    class CommandFailed(SystemExit):
        # A failed shell command ends the script with the command's status (SystemExit, so no traceback), but
        # a cell tagged raises-exception still catches it.
        pass

    def expect_error(k, label, source):
        begin(k, label)
        name = '<%s>' % label
        linecache.cache[name] = (len(source), None, source.splitlines(True), name)
        try:
            exec(compile(source, name, 'exec'), sys._getframe(1).f_globals)
        except (Exception, CommandFailed):
            traceback.print_exc()
            err('%s raised the exception above; it is tagged raises-exception, so the script continues' % label)

    class Formatter(string.Formatter):
        # IPython's var_expand: {expression} and $name are evaluated in the caller's namespace.
        def __init__(self, namespace):
            self.namespace = namespace

        def get_field(self, field_name, args, kwargs):
            return eval(field_name, self.namespace), field_name

        def parse(self, text):
            dollar = re.compile(r"(.*?)\$(\$?[\w\.]+)(?=([^']*'[^']*')*[^']*$)", re.S)
            for literal, field, spec, conversion in string.Formatter.parse(self, text):
                while True:
                    found = dollar.match(literal)
                    if not found:
                        break
                    name = found.group(2)
                    if name.startswith('$'):
                        yield found.group(1) + name, None, None, None
                    else:
                        yield found.group(1), name, '', None
                    literal = literal[found.end():]
                yield literal, field, spec, conversion

    def expand(text, depth=2):
        frame = sys._getframe(depth)
        namespace = dict(frame.f_globals)
        namespace.update(frame.f_locals)
        try:
            return Formatter(namespace).vformat(text, (), {})
        except Exception:
            return text  # as IPython: a command that does not expand is run as written

    def system(cmd):
        command = expand(cmd)
        sys.stdout.flush()
        sys.stderr.flush()
        code = subprocess.call(command, shell=True)
        if code != 0:
            err('%s: shell command failed with exit status %d: %s' % (state['cell'], code, command))
            raise CommandFailed(code if 0 < code < 256 else 1)

    class SList(list):
        # IPython's SList, the list of lines that x = !cmd gives: .s, .n, .l, .p
        s = property(lambda self: ' '.join(self))
        n = property(lambda self: '\n'.join(self))
        l = property(lambda self: list(self))
        p = property(lambda self: [__import__('pathlib').Path(line) for line in self])

    def getoutput(cmd):
        command = expand(cmd)
        sys.stdout.flush()
        result = subprocess.run(command, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        text = result.stdout.decode(errors='replace')
        if result.returncode != 0:
            err('warning: %s: captured command exited with status %d: %s' % (state['cell'], result.returncode, command))
        return SList(text.splitlines())

    def shell(body, program):
        sys.stdout.flush()
        sys.stderr.flush()
        code = subprocess.run([program], input=body.encode()).returncode
        if code != 0:
            err('%s: %%%%%s cell failed with exit status %d' % (state['cell'], program, code))
            raise CommandFailed(code if 0 < code < 256 else 1)

    def cd(args, quiet=False):
        words = shlex.split(expand(args))
        if words and words[0] == '-q':
            quiet, words = True, words[1:]
        target = os.path.expanduser(words[0]) if words else os.path.expanduser('~')
        if target == '-':
            target = state.get('oldpwd') or os.getcwd()
        state['oldpwd'] = os.getcwd()
        os.chdir(target)
        if not quiet:
            print(os.getcwd())

    def env(args):
        text = expand(args).strip()
        if not text:
            return dict(os.environ)
        if '=' in text:
            name, value = text.split('=', 1)
        elif ' ' in text:
            name, value = text.split(None, 1)
        else:
            return os.environ[text]
        name, value = name.strip(), value.strip()
        os.environ[name] = value
        print('env: %s=%s' % (name, value))

    def run(args):
        words = shlex.split(expand(args))
        caller = sys._getframe(1).f_globals
        interactive = '-i' in words
        words = [word for word in words if word not in ('-i', '-t', '-e', '-q')]
        if not words:
            raise SystemExit('canfar: %run needs a file')
        saved = sys.argv
        try:
            if words[0] == '-m':
                sys.argv = words[1:]
                result = runpy.run_module(words[1], init_globals=caller if interactive else None, run_name='__main__', alter_sys=True)
            else:
                sys.argv = words
                result = runpy.run_path(words[0], init_globals=caller if interactive else None, run_name='__main__')
        finally:
            sys.argv = saved
        caller.update({k: v for k, v in result.items() if not k.startswith('__')})

    def writefile(args, body):
        words = shlex.split(expand(args))
        append = '-a' in words or '--append' in words
        words = [word for word in words if word not in ('-a', '--append')]
        if len(words) != 1:
            raise SystemExit('canfar: %%writefile needs one file name, got ' + repr(args))
        path = os.path.expanduser(words[0])
        print(('Appending to %s' if append else 'Overwriting %s' if os.path.exists(path) else 'Writing %s') % path)
        with open(path, 'a' if append else 'w', encoding='utf-8') as handle:
            handle.write(body)

    def coerce(name, raw, default):
        # Typed like the default, as papermill does: a bad value is an error, not a silent string.
        kind = type(default)
        if kind is bool:
            lowered = raw.strip().lower()
            if lowered in ('1', 'true', 'yes', 'on'):
                return True
            if lowered in ('0', 'false', 'no', 'off'):
                return False
            raise ValueError('expected true/false, 1/0, yes/no or on/off')
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if kind is str:
            return raw
        for parse in (json.loads, ast.literal_eval):
            try:
                value = parse(raw)
            except Exception:
                continue
            if default is None or isinstance(value, kind):
                return value
        if default is None:
            return raw
        raise ValueError('expected a %s literal (JSON or Python)' % kind.__name__)

    def param(name, default):
        raw = os.environ.get('CANFAR_PARAM_' + name)
        if raw is None:
            return default
        try:
            value = coerce(name, raw, default)
        except ValueError as problem:
            err('CANFAR_PARAM_%s=%r is not a valid %s (the notebook default is %r): %s' % (name, raw, type(default).__name__, default, problem))
            raise SystemExit(2)
        err('parameter %s = %r (from CANFAR_PARAM_%s)' % (name, value, name))
        return value

    def check_params(names):
        unknown = sorted(key[len('CANFAR_PARAM_'):] for key in os.environ if key.startswith('CANFAR_PARAM_') and key[len('CANFAR_PARAM_'):] not in names)
        if unknown:
            err('warning: CANFAR_PARAM_%s set but the notebook has no such parameter (parameters: %s)' % (', CANFAR_PARAM_'.join(unknown), ', '.join(names) or 'none'))

    def matplotlib(args=''):
        os.environ['MPLBACKEND'] = 'Agg'
        if 'matplotlib' in sys.modules:
            sys.modules['matplotlib'].use('Agg')

    def report_ipython_failure():
        # Under "ipython script.py" the excepthook is not called: IPython prints the traceback, records the
        # exception in sys.last_value and exits 1. Name the cell then.
        value = getattr(sys, 'last_value', None)
        if value is not None and not isinstance(value, SystemExit):
            err('%s failed with %s: %s' % (state['cell'] or 'the script before its first cell', type(value).__name__, value))

    sys.excepthook = excepthook
    atexit.register(save_figures)
    if 'IPython' in sys.modules:
        atexit.register(report_ipython_failure)
    runtime = type('CanfarRuntime', (), {})()
    for function in (begin, expect_error, system, getoutput, shell, cd, env, run, writefile, param, check_params, matplotlib, uses_matplotlib):
        setattr(runtime, function.__name__, function)
    return runtime
`;

const DISPLAY = `
try:
    from IPython.display import display
except ImportError:  # plain python without IPython: print what a notebook would have displayed
    def display(*objs, **kwargs):
        print(*objs)
`;

export interface PreludeOptions {
  progress: boolean;
  codeCells: number;
  display: boolean;
  matplotlib: boolean;
}

export function pythonPrelude(options: PreludeOptions): string {
  const lines = [
    '# ---- canfar runtime: what the notebook kernel provided, for plain python ----',
    RUNTIME.trim(),
    '',
    `_canfar = _canfar_runtime(progress=${options.progress ? 'True' : 'False'}, total=${options.codeCells})`,
    'del _canfar_runtime',
  ];
  if (options.matplotlib) lines.push('_canfar.uses_matplotlib()');
  if (options.display) lines.push(DISPLAY.trim());
  lines.push('# ---- end of the canfar runtime ----');
  return lines.join('\n') + '\n';
}
