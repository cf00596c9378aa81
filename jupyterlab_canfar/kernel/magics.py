"""``%canfar``: the canfar-lab command line's verbs and flags as an IPython line magic.

    %load_ext jupyterlab_canfar
    %canfar ps
    %canfar submit analysis.ipynb -r 8 --param N=3 --follow
    rows = %canfar ps -a          # the value is plain data (a list of dicts)

``$name`` and ``{expression}`` are expanded by IPython before the words are split (as in every magic).
Bad arguments print the verb's usage in a few lines; a failed request prints the service's message;
neither shows a traceback.
"""

import shlex
import sys
from typing import Any, List, Optional

from IPython.core.magic import Magics, line_magic, magics_class

from . import spec
from .engine import Engine
from .errors import CanfarError, CanfarUsageError
from .outputs import BatchStatus


class LiveOutput:
    """One output of the cell, replaced in place as the command progresses (display ids: also recorded
    by nbconvert, which keeps the last state)."""

    def __init__(self):
        self._handle = None

    def __call__(self, value: Any) -> None:
        from IPython.display import display

        bundle = value._repr_mimebundle_()
        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)

    @property
    def shown(self) -> bool:
        return self._handle is not None


def split(line: str) -> List[str]:
    try:
        return shlex.split(line, posix=True)
    except ValueError as error:
        raise CanfarUsageError(f"cannot split the line into words ({error}): check the quotes") from None


def run_line(engine: Engine, line: str) -> Optional[Any]:
    """Runs one ``%canfar`` line; returns what the cell should show as its value (or None)."""
    words = split(line)
    if not words or words[0] in ("-h", "--help", "help"):
        topic = words[1] if len(words) > 1 and words[0] == "help" else None
        if topic in spec.verbs():
            print(spec.usage(topic), end="")
        else:
            print(spec.top_usage(), end="")
        return None
    verb, argv = words[0], words[1:]
    parsed = spec.parse(verb, argv)
    if parsed.help:
        print(spec.usage(verb), end="")
        return None
    if parsed.globals.get("json"):
        print(
            "%canfar: --json is for the command line; in a notebook the value is already data "
            "(`rows = %canfar ps`).",
            file=sys.stderr,
        )

    if verb == "local":
        raise CanfarError(
            "`canfar-lab local` runs a server until stopped: start it in a terminal, not in a notebook cell."
        )
    if verb == "logs":
        if parsed.values.get("follow"):
            engine.logs(parsed, on_text=lambda text: (sys.stdout.write(text), sys.stdout.flush()))
            return None
        return engine.logs(parsed)
    if verb == "submit":
        live = LiveOutput()
        result = engine.submit(parsed, live)
        return None if live.shown else result
    if verb == "watch":
        if len(parsed.positionals) != 1:
            raise CanfarUsageError(
                "watch takes exactly one BATCH_ID", verb="watch", usage=spec.synopsis("watch")
            )
        live = LiveOutput()
        from .engine import _interval

        engine.watch(parsed.positionals[0], parsed, live, interval=_interval(parsed.values.get("interval")))
        return None
    if verb == "batch":
        live = LiveOutput()
        result = engine.batch_action(parsed, live)
        return None if (live.shown and isinstance(result, BatchStatus)) else result
    handler = getattr(engine, verb, None)
    if handler is None:
        raise CanfarUsageError(f"unknown verb {verb!r}; the verbs are: {', '.join(spec.verbs())}")
    return handler(parsed)


def report(error: CanfarError) -> None:
    """A failed command, as a user reads it: a few lines on stderr, no traceback."""
    print("\n".join(error.lines()), file=sys.stderr)


@magics_class
class CanfarMagics(Magics):
    def __init__(self, shell, engine: Optional[Engine] = None):
        super().__init__(shell)
        self.engine = engine or Engine()

    @line_magic
    def canfar(self, line: str):
        """Run a canfar-lab verb from the notebook: `%canfar ps`, `%canfar submit NB -r N --follow`,
        `%canfar logs ID -f`, `%canfar batches`, `%canfar --help` lists the verbs."""
        try:
            return run_line(self.engine, line)
        except CanfarError as error:
            report(error)
            return None
        except KeyboardInterrupt:
            print("%canfar: interrupted.", file=sys.stderr)
            return None
