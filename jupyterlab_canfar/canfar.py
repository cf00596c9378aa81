"""The CANFAR notebook commands for Python: the names of the JS kernels' API, plain Python data back.

    from jupyterlab_canfar import canfar

    rows = canfar.sessions()                 # list of dicts (pandas: pd.DataFrame(rows))
    batch = canfar.submit("analysis.ipynb", replicas=8, param={"N": 3})
    final = canfar.watch(batch)              # follows it, shown live; the final state as a dict
    text = canfar.logs(rows[0]["id"])

Keyword arguments are the CLI's flags (``dry_run=True`` is ``--dry-run``, ``env={"A": "1"}`` is
``--env A=1``), so a flag added to ``canfar-lab submit`` is accepted here with no change. Failures raise
``CanfarError`` (``CanfarUsageError`` for bad arguments) whose message says what to do.

The routes are those of ``%canfar`` (jupyterlab_canfar/kernel/engine.py): the JupyterLab extension and
the server half inside JupyterLab, the canfar-lab CLI elsewhere.
"""

from typing import Any, Dict, List, Optional, Union

from .kernel import spec
from .kernel.engine import Engine, _interval
from .kernel.errors import CanfarError, CanfarUsageError, NoRouteError
from .kernel.outputs import (
    BatchList,
    BatchStatus,
    EventList,
    ImageList,
    LogText,
    Outcomes,
    SessionList,
    Stats,
)

__all__ = [
    "CanfarError",
    "CanfarUsageError",
    "NoRouteError",
    "batch",
    "batches",
    "context",
    "convert",
    "delete",
    "deleteBatch",
    "delete_batch",
    "events",
    "images",
    "info",
    "logs",
    "rerun",
    "rerunCombine",
    "rerun_combine",
    "sessions",
    "stats",
    "submit",
    "watch",
]

_engine: Optional[Engine] = None

BatchRef = Union[str, Dict[str, Any]]


def engine() -> Engine:
    global _engine
    if _engine is None:
        _engine = Engine()
    return _engine


def _parse(verb: str, *args: str, **flags: Any) -> spec.ParsedArgs:
    return spec.parse(verb, [*map(str, args), *spec.to_argv(flags)])


def _batch_id(batch_ref: BatchRef) -> str:
    if isinstance(batch_ref, dict):
        return str(batch_ref.get("batchId"))
    return str(batch_ref)


def _live():
    from .kernel.magics import LiveOutput

    return LiveOutput() if _in_kernel() else (lambda value: None)


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython

        shell = get_ipython()
        return shell is not None and getattr(shell, "kernel", None) is not None
    except ImportError:
        return False


def _shown(value: Any, live: bool) -> Any:
    """A batch shown live above shows itself as one line when it is also the cell's value."""
    if live and isinstance(value, BatchStatus) and _in_kernel():
        value.shown_live = True
    return value


def sessions(kind: Optional[str] = None, status: Optional[str] = None) -> SessionList:
    """Your sessions (all of them, finished ones included), optionally of one kind or status."""
    return engine().sessions(kind, status)


def info(*ids: str) -> SessionList:
    """The details of sessions."""
    return engine().info(_parse("info", *ids))


def logs(session_id: str, follow: bool = False) -> LogText:
    """A session's whole log; with ``follow=True`` printed as it is written, until the session ends."""
    if follow:
        import sys

        return engine().logs(_parse("logs", session_id, follow=True), on_text=sys.stdout.write)
    return engine().logs(_parse("logs", session_id))


def events(session_id: str) -> EventList:
    """A session's cluster events (scheduling, image pulls, failures)."""
    return engine().events(_parse("events", session_id))


def delete(*ids: str) -> Outcomes:
    """Deletes sessions (each is looked up first, so a mistyped id is reported)."""
    return engine().delete(_parse("delete", *ids, force=True))


def stats() -> Stats:
    """The platform's load: cores and RAM requested, available, and the most one session can get."""
    return engine().stats(_parse("stats"))


def images(kind: Optional[str] = None) -> ImageList:
    return engine().images(_parse("images", kind=kind))


def context() -> Dict[str, Any]:
    """The resources a session may ask for, the allowed registries, the endpoint and credential in use."""
    return engine().context(_parse("context"))


def submit(notebook: str, replicas: int, *, follow: bool = False, **flags: Any) -> Any:
    """Runs a notebook as ``replicas`` headless sessions (a batch); returns once they are launched (with
    ``follow=True``, once they have finished) the batch as a dict (``batchId``, ``phase``, ``counts``,
    ``replicas``), which shows itself as the batch's live status in JupyterLab. Flags: those of
    ``canfar-lab submit`` (name, image, cores, ram, gpus, env, param, policy, concurrency, dry_run...)."""
    parsed = _parse("submit", notebook, replicas=replicas, follow=follow, **flags)
    return _shown(engine().submit(parsed, _live() if follow else (lambda value: None)), follow)


def batches(all: bool = False) -> BatchList:  # noqa: A002 - the CLI's flag name
    """The batches beside this notebook, newest first, with k/N counts."""
    return engine().batches(_parse("batches", all=all))


def batch(batch_ref: BatchRef) -> BatchStatus:
    """One batch's state now, replica by replica."""
    return engine().batches(_parse("batches", _batch_id(batch_ref)))


def watch(batch_ref: BatchRef, interval: float = 2.0) -> BatchStatus:
    """Follows a batch until every replica has finished, its status shown live; returns the final state."""
    batch_id = _batch_id(batch_ref)
    status = engine().watch(batch_id, _parse("watch", batch_id), _live(), interval=_interval(interval))
    return _shown(status, True)


def delete_batch(batch_ref: BatchRef, replica: Optional[int] = None) -> Dict[str, Any]:
    """Deletes the sessions of a batch (or of one replica) and stops listing it; its folder stays."""
    return engine().batch_action(
        _parse("batch", "delete", _batch_id(batch_ref), force=True, replica=replica), lambda v: None
    )


deleteBatch = delete_batch  # the JS kernels' name


def rerun(batch_ref: BatchRef, failed_only: bool = False, **flags: Any) -> Any:
    """Runs a batch again (a new batch), or with ``failed_only=True`` only its failed replicas."""
    action = "rerun-failed" if failed_only else "rerun"
    return engine().batch_action(_parse("batch", action, _batch_id(batch_ref), **flags), lambda v: None)


def rerun_combine(batch_ref: BatchRef, **flags: Any) -> Any:
    """Runs the combine step of a batch again, alone, after it failed (fix its script in the batch folder first)."""
    return engine().batch_action(_parse("batch", "rerun-combine", _batch_id(batch_ref), **flags), lambda v: None)


rerunCombine = rerun_combine  # the JS kernels' name


def convert(notebook: str, **flags: Any) -> Dict[str, Any]:
    """The script a batch replica would run (``script``), with the diagnostics of the conversion."""
    return engine().convert(_parse("convert", notebook, **flags))
