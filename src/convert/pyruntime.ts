/**
 * The Python runtime of converted scripts, as a module: `pylib/canfar_batch/_runtime.py` in a batch folder,
 * imported by the script in two lines; inlined by `canfar-lab convert` so that a script runs alone. Everything is
 * inside `start(namespace, ...)`, which returns the `_canfar` object the script calls (see the docstring).
 * The text is Python; it is tested once (golden file `python-runtime.py`, and every execution test runs it).
 */

/** The module's text (Python). */
export const PYTHON_RUNTIME = String.raw`"""The runtime of Python scripts converted from notebooks by jupyterlab-canfar (canfar-lab convert).

It provides what the notebook's kernel did and plain python3 does not. A converted script imports it in two
lines, from pylib/ beside the script (a batch folder has it; canfar-lab convert inlines it instead):

    import sys; sys.path.append(sys.path[0] + '/pylib')
    from canfar_batch._runtime import start; _canfar = start(globals(), cells=5)

Everything lives inside start(), so the notebook's namespace gains one name, _canfar (plus what IPython
would define: Out, _, __, ___, _<n>, and get_ipython when the notebook needs IPython).

- begin(k, label) before each code cell: progress on stderr, figures of the previous cell saved.
- an excepthook that names the failing cell (and the cell and line where the exception was raised) after the
  usual traceback; Python then exits 1. SystemExit(0) stays a success.
- checked shell commands (!cmd, %%bash), captured output (x = !cmd), %cd, %env, %run, %%writefile,
  %matplotlib, %%capture, with IPython's $name/{expr} expansion in the caller's namespace.
- param(name, default): the CANFAR_PARAM_<name> override (canfar-b64: values decoded), typed like the default.
- Out[n] = value: IPython's output history (Out, _, __, ___, _n) for a cell's last expression.
- ipython=[cells]: an IPython shell (not a terminal: no title, no colours) runs the magics of those cells.
- figures: the Agg backend, and every open figure saved as a PNG into CANFAR_OUTPUT_DIR (default: the working
  directory) at plt.show() and at the end of each cell, as the inline backend would have shown it.
"""


def start(namespace, cells=0, progress=False, matplotlib=False, display=False, ipython=()):
    import atexit, ast, base64, binascii, io, json, linecache, os, re, runpy, shlex, string, subprocess, sys, traceback

    state = {'cell': None, 'figures': 0, 'pyplot_patched': False, 'capture': None, 'shell': None}
    script = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else None
    marker = re.compile(r'^# %% \[(cell \d+(?: id=\S+)?)\]')

    # The script's first lines put pylib/ on sys.path and import start(): they leave no name behind.
    for name, value in (('sys', sys), ('start', start)):
        if namespace.get(name) is value:
            del namespace[name]
    # As in a notebook's kernel, modules of the working directory (the notebook's folder) are importable.
    if '' not in sys.path:
        sys.path.insert(0, '')

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

    class ImportHook:
        # Patches a module as soon as it is imported (plt.show, IPython's display), so the importing cell sees it.
        def __init__(self, name, patch):
            self.name, self.patch = name, patch

        def find_spec(self, name, path=None, target=None):
            if name != self.name:
                return None
            import importlib.util
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            if spec is None or spec.loader is None:
                return spec
            exec_module = spec.loader.exec_module

            def exec_and_patch(module):
                exec_module(module)
                self.patch()
            spec.loader.exec_module = exec_and_patch
            return spec

    def after_import(name, patch):
        if name in sys.modules:
            patch()
        else:
            sys.meta_path.insert(0, ImportHook(name, patch))

    def uses_matplotlib():
        os.environ['MPLBACKEND'] = 'Agg'
        after_import('matplotlib.pyplot', patch_pyplot)

    def patch_display():
        # IPython's display() without a shell prints to stdout: the notebook's own import gets show() instead.
        for name in ('IPython.core.display_functions', 'IPython.core.display', 'IPython.display'):
            module = sys.modules.get(name)
            if module is not None and hasattr(module, 'display'):
                module.display = show
                module.update_display = update_display

    def begin(k, label):
        end_capture()
        save_figures()
        state['cell'] = label
        if progress or os.environ.get('CANFAR_PROGRESS'):
            err('cell %d/%d [%s]' % (k, cells, label))

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
        end_capture()
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
        state['expected'] = True
        try:
            exec(compile(source, name, 'exec'), namespace)
        except CommandFailed:
            end_capture()  # the command's failure is said already
        except Exception:
            end_capture()
            traceback.print_exc()
            err('%s raised the exception above; it is tagged raises-exception, so the script continues' % label)
        finally:
            state['expected'] = False

    # ---- IPython's output history: Out[n] = value for the last expression of a cell ----

    class OutputHistory(dict):
        def __setitem__(self, number, value):
            if value is None or value is self:
                return  # IPython keeps no None result
            dict.__setitem__(self, number, value)
            namespace['___'] = namespace.get('__', '')
            namespace['__'] = namespace.get('_', '')
            namespace['_'] = value
            namespace['_%d' % number] = value

    # ---- shell commands ----

    class Formatter(string.Formatter):
        # IPython's var_expand: {expression} and $name are evaluated in the caller's namespace.
        def __init__(self, names):
            self.names = names

        def get_field(self, field_name, args, kwargs):
            return eval(field_name, self.names), field_name

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
        names = dict(frame.f_globals)
        names.update(frame.f_locals)
        try:
            return Formatter(names).vformat(text, (), {})
        except Exception:
            return text  # as IPython: a command that does not expand is run as written

    def redirected():
        # Inside %%capture (or any redirection of sys.stdout), a command's output goes where print's goes.
        return sys.stdout is not sys.__stdout__ or sys.stderr is not sys.__stderr__

    def run_command(args, **kwargs):
        sys.stdout.flush()
        sys.stderr.flush()
        if not redirected():
            return subprocess.run(args, **kwargs).returncode
        result = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)
        sys.stdout.write(result.stdout.decode(errors='replace'))
        sys.stderr.write(result.stderr.decode(errors='replace'))
        return result.returncode

    def failed(what, code, command, fix):
        if state.get('expected'):
            advice = 'the cell is tagged raises-exception, so the script continues'
        else:
            advice = 'if that failure is expected, tag the cell raises-exception and the script goes on, or ' + fix
        err('%s: %s failed with exit status %d%s (%s)' % (state['cell'], what, code, ': ' + command if command else '', advice))
        raise CommandFailed(code if 0 < code < 256 else 1)

    def system(cmd):
        command = expand(cmd)
        code = run_command(command, shell=True)
        if code != 0:
            failed('shell command', code, command, 'write !%s || true' % cmd.strip())

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
        code = run_command([program], input=body.encode())
        if code != 0:
            failed('%%%%%s cell' % program, code, '', 'end the failing line with || true')

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

    def log(text):
        # What a display-only cell (%%markdown, %%latex) shows in the notebook goes to the log (stderr).
        err('%s shows in the notebook:\n%s' % (state['cell'], text.rstrip('\n')))

    # ---- %%capture [--no-stdout] [--no-stderr] [--no-display] name ----

    class RichOutput:
        def __init__(self, data, metadata=None):
            self.data = data
            self.metadata = metadata or {}

        def display(self):
            print(self.data.get('text/plain', ''))

        def __repr__(self):
            return self.data.get('text/plain', '')

    class CapturedIO:
        # IPython's CapturedIO: .stdout, .stderr, .outputs, .show() and (): print what was captured.
        def __init__(self, stdout, stderr, outputs):
            self._stdout, self._stderr, self._outputs = stdout, stderr, outputs

        def __str__(self):
            return self.stdout

        stdout = property(lambda self: self._stdout.getvalue() if self._stdout else '')
        stderr = property(lambda self: self._stderr.getvalue() if self._stderr else '')
        outputs = property(lambda self: list(self._outputs or []))

        def show(self):
            if self._stdout:
                sys.stdout.write(self._stdout.getvalue())
                sys.stdout.flush()
            if self._stderr:
                sys.stderr.write(self._stderr.getvalue())
                sys.stderr.flush()
            for output in self._outputs or []:
                output.display()

        __call__ = show

    class Redirection:
        def __init__(self, stdout, stderr, outputs):
            self.saved = (sys.stdout, sys.stderr)
            self.outputs = outputs
            if stdout:
                sys.stdout = stdout
            if stderr:
                sys.stderr = stderr

        def __exit__(self, *exc):
            sys.stdout, sys.stderr = self.saved

    def capture(stdout=True, stderr=True, display=True):
        end_capture()
        if state['shell'] is not None:
            from IPython.utils.capture import capture_output
            manager = capture_output(stdout, stderr, display)
            state['capture'] = (manager, manager.__enter__())
            return
        out = io.StringIO() if stdout else None
        errors = io.StringIO() if stderr else None
        outputs = [] if display else None
        state['capture'] = (Redirection(out, errors, outputs), CapturedIO(out, errors, outputs))

    def end_capture():
        pending, state['capture'] = state['capture'], None
        if pending is None:
            return None
        pending[0].__exit__(None, None, None)
        return pending[1]

    def captured():
        return end_capture() or CapturedIO(None, None, None)

    class DisplayHandle:
        # What display(..., display_id=True) returns: later updates are shown again (in the log).
        def __init__(self, display_id):
            self.display_id = display_id

        def display(self, obj, **kwargs):
            show(obj)

        def update(self, obj, **kwargs):
            show(obj)

    def show(*objs, **kwargs):
        # display() without IPython: what a notebook would have displayed goes to the log on stderr (its stdout
        # holds what the notebook printed), or into %%capture's outputs.
        pending = state['capture']
        if pending is None or not isinstance(pending[0], Redirection):
            print(*objs, file=sys.stderr)
        elif pending[0].outputs is not None:
            pending[0].outputs.extend(RichOutput({'text/plain': repr(obj)}) for obj in objs)
        else:  # %%capture --no-display: shown, not captured
            print(*objs, file=pending[0].saved[1])
        display_id = kwargs.get('display_id')
        if display_id:
            return DisplayHandle(display_id)

    def update_display(obj, display_id=None, **kwargs):
        show(obj)

    class LogPublisher:
        # The IPython shell's display publisher: displays go to the log on stderr, not to stdout (see show()).
        def __init__(self, base):
            self.base = base

        def publish(self, data, metadata=None, source=None, transient=None, update=False, **kwargs):
            if 'text/plain' in data:
                print(data['text/plain'], file=sys.stderr)

        def clear_output(self, wait=False):
            pass

        def __getattr__(self, name):
            return getattr(self.base, name)

    # ---- parameters ----

    def decode(name, raw):
        # A value that Skaha would drop or mangle travels as canfar-b64:<base64url of its UTF-8, no padding>.
        if not raw.startswith('canfar-b64:'):
            return raw
        body = raw[len('canfar-b64:'):]
        try:
            return base64.b64decode(body + '=' * (-len(body) % 4), altchars=b'-_', validate=True).decode('utf-8')
        except (binascii.Error, ValueError) as problem:
            err('CANFAR_PARAM_%s=%r is not valid canfar-b64 (base64url of UTF-8): %s' % (name, raw, problem))
            raise SystemExit(2)

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
        raw = decode(name, raw)
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

    def matplotlib_magic(args=''):
        os.environ['MPLBACKEND'] = 'Agg'
        if 'matplotlib' in sys.modules:
            sys.modules['matplotlib'].use('Agg')

    def report_ipython_failure():
        # Under "ipython script.py" the excepthook is not called: IPython prints the traceback, records the
        # exception in sys.last_value and exits 1. Name the cell then.
        value = getattr(sys, 'last_value', None)
        if value is not None and not isinstance(value, SystemExit):
            err('%s failed with %s: %s' % (state['cell'] or 'the script before its first cell', type(value).__name__, value))

    def start_ipython():
        # The magics IPython alone runs (the notebook's own, %load_ext, ...) run in an IPython shell whose user
        # namespace is the script's: not a terminal, so no title, no colours, no prompts; an exception in a cell
        # reaches the excepthook above like any other.
        try:
            import IPython
            from IPython.core.interactiveshell import InteractiveShell
            from traitlets.config import Config
        except ImportError as problem:
            err('this notebook needs IPython (cells %s use magics that only IPython runs), but %s cannot import it (%s): install ipython in the image, or remove those magics'
                % (', '.join(str(cell) for cell in ipython), sys.executable, problem))
            raise SystemExit(127)
        shell = IPython.get_ipython()
        if shell is None:
            config = Config()
            config.HistoryManager.enabled = False
            config.InteractiveShell.xmode = 'Plain'
            if int(IPython.version_info[0]) < 9:
                config.InteractiveShell.colors = 'NoColor'
            shell = InteractiveShell.instance(config=config, user_ns=namespace)
            if int(IPython.version_info[0]) >= 9:
                shell.colors = 'nocolor'
            # IPython empties the namespace at exit, which would break the notebook's own atexit handlers.
            atexit.unregister(shell.atexit_operations)
            for name in ('exit', 'quit'):  # IPython's would only ask an interactive loop to stop
                namespace.pop(name, None)
            shell.display_pub = LogPublisher(shell.display_pub)
        import builtins
        builtins.get_ipython = shell.get_ipython  # as in a kernel, for modules the notebook imports
        return shell

    sys.excepthook = excepthook
    atexit.register(save_figures)
    if ipython:
        state['shell'] = start_ipython()
    if 'IPython' in sys.modules and getattr(sys.modules['IPython'], 'get_ipython', lambda: None)() is not None and state['shell'] is None:
        state['shell'] = sys.modules['IPython'].get_ipython()
    if state['shell'] is not None and type(state['shell']).__name__ == 'TerminalInteractiveShell':
        atexit.register(report_ipython_failure)
    history = OutputHistory()
    namespace.update({'Out': history, '_oh': history, '_': '', '__': '', '___': ''})
    if state['shell'] is not None:
        state['shell'].user_ns_hidden.update({'Out': history, '_oh': history})
    if display and state['shell'] is None:
        namespace['display'] = show
        namespace['update_display'] = update_display
        after_import('IPython.display', patch_display)
    if matplotlib:
        uses_matplotlib()
    runtime = type('CanfarRuntime', (), {})()
    for function in (begin, expect_error, system, getoutput, shell, cd, env, run, writefile, param, check_params,
                     capture, captured, log):
        setattr(runtime, function.__name__, function)
    runtime.matplotlib = matplotlib_magic
    runtime.uses_matplotlib = uses_matplotlib
    return runtime
`;

/** Where the runtime module goes, relative to `pylib/` of the batch folder. */
export const PYTHON_RUNTIME_PATH = 'canfar_batch/_runtime.py';

/** The files the batch plan writes under `pylib/` (paths relative to `pylib/`) for Python scripts. */
export function pythonRuntimeFiles(): { path: string; content: string }[] {
  return [{ path: PYTHON_RUNTIME_PATH, content: PYTHON_RUNTIME }];
}

export interface RuntimeCall {
  /** Code cells the script runs (for `cell k/N`). */
  cells: number;
  progress: boolean;
  matplotlib: boolean;
  display: boolean;
  /** Cells (numbered from 1) whose magics IPython runs: the runtime starts an IPython shell. */
  ipython: number[];
}

function startCall(call: RuntimeCall): string {
  const args = [`cells=${call.cells}`];
  if (call.progress) args.push('progress=True');
  if (call.matplotlib) args.push('matplotlib=True');
  if (call.display) args.push('display=True');
  if (call.ipython.length > 0) args.push(`ipython=[${call.ipython.join(', ')}]`);
  return `_canfar = start(globals(), ${args.join(', ')})`;
}

/**
 * The script lines that load the runtime. `module`: two lines importing it from `pylib/` beside the script
 * (appended to sys.path, so an installed package of the same name wins). `inline`: the module's code itself,
 * between marker lines, so that the script runs alone.
 */
export function pythonRuntimeLines(call: RuntimeCall, mode: 'module' | 'inline'): string[] {
  if (mode === 'module') {
    return [
      "import sys; sys.path.append(sys.path[0] + '/pylib')  # the canfar runtime: pylib/canfar_batch/_runtime.py beside this script",
      `from canfar_batch._runtime import start; ${startCall(call)}`,
    ];
  }
  const code = PYTHON_RUNTIME.replace(/^"""[\s\S]*?"""\n+/, '').trimEnd();
  return [
    '# ---- canfar runtime (pylib/canfar_batch/_runtime.py in a batch folder), inlined: this script runs alone ----',
    code,
    '',
    startCall(call),
    '# ---- end of the canfar runtime ----',
  ];
}
