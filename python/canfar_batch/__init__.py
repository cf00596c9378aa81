"""Helpers for the replicas and the combine step of a jupyterlab-canfar batch.

    from canfar_batch import batch_dir, replicas, write_atomic

batch_dir()      the batch folder (CANFAR_BATCH_DIR in a replica and in the combine; else give it)
replicas()       every replica of the batch: replica, set, shard, params, state, exit_code, attempt,
                 log, output_dir (from batch.json and the status files)
write_atomic()   write a file in one step (temporary file + rename): on CANFAR a replica may be preempted
                 and run again from the start, so an output must never be left half written
"""

import json
import os
import tempfile

__all__ = ["batch_dir", "replicas", "write_atomic"]


def batch_dir(path=None):
    """The batch folder: `path` when given, else $CANFAR_BATCH_DIR (set by run.sh)."""
    folder = path if path is not None else os.environ.get("CANFAR_BATCH_DIR")
    if not folder:
        raise RuntimeError(
            "not inside a batch (CANFAR_BATCH_DIR is not set): give the batch folder, "
            "e.g. batch_dir('canfar-batches/20260801-120000-abcd')"
        )
    return os.path.abspath(os.fspath(folder))


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def _state(status):
    if not status:
        return "not-started"
    state = status.get("state")
    if state != "finished":
        return state or "unknown"
    if status.get("exitCode") != 0:
        return "failed"
    return "output-missing" if status.get("outputsMissing") else "completed"


def replicas(path=None):
    """Every replica of the batch, in order, as dicts (what its status file says now)."""
    folder = batch_dir(path)
    manifest = _read_json(os.path.join(folder, "batch.json")) or {}
    sweep = manifest.get("sweep") or {}
    sets = sweep.get("sets") or []
    overrides = (manifest.get("parameters") or {}).get("overrides") or {}
    rows = []
    for record in manifest.get("replicas") or []:
        index = record["replica"]
        status = _read_json(os.path.join(folder, "status", "replica-%d.json" % index))
        set_id = record.get("set", 1)
        params = dict(overrides)
        if 0 < set_id <= len(sets):
            params.update(sets[set_id - 1])
        rows.append(
            {
                "replica": index,
                "set": set_id,
                "shard": record.get("shard", index),
                "params": params,
                "state": _state(status),
                "exit_code": (status or {}).get("exitCode"),
                "attempt": (status or {}).get("attempt", 1 if status else 0),
                "outputs_missing": (status or {}).get("outputsMissing", []),
                "log": os.path.join(folder, "logs", "replica-%d.log" % index),
                "output_dir": os.path.join(folder, "outputs", "replica-%d" % index),
            }
        )
    return rows


def write_atomic(path, data):
    """Writes `data` (str or bytes) to `path` in one step: a temporary file beside it, then a rename.

    Readers see the old file or the new one, never half of one, also when the replica is stopped while
    writing, and a replica that runs twice simply replaces its output. Returns the path.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    binary = isinstance(data, (bytes, bytearray, memoryview))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(temporary, 0o666 & ~mask)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    return path
