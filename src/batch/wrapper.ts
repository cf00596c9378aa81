import { BATCH_FOLDER_TO_NOTEBOOK_DIR } from './paths';
import type { BatchFile } from './types';

/** Quotes a word for POSIX sh (single quotes; a `'` becomes `'\''`). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface WrapperOptions {
  batchId: string;
  /** Script file name inside the batch folder, e.g. `script.py`. */
  script: string;
  interpreter: { command: string; args: string[] };
  /** Python scripts get the batch's pylib/ (canfar_batch, the canfar.helpers fallback) on PYTHONPATH. */
  python: boolean;
  /** The combine script's file name (cells tagged `combine`), run once after every replica succeeded. */
  combine?: string;
  /** Expected outputs (BatchInput.expect), checked after the script exits 0. */
  expect?: string[];
  /** Swept parameters: their CANFAR_PARAM_* are not passed to the combine (it sees the notebook's defaults). */
  sweptParameters?: string[];
  /** The conversion's `needsIPython`: run.sh checks that the interpreter can import IPython. */
  needsIPython?: { cells: number[] };
}

/**
 * `run.sh`: the replica's command (`sh <folder>/run.sh`). POSIX sh, because an image need not have bash
 * (tested with dash). It finds its folder from `$0`, so it holds no absolute path and a copied batch
 * folder still works. What it guarantees:
 * - the script runs with the kernel's interpreter, in the notebook's folder (as in the notebook), with
 *   CANFAR_OUTPUT_DIR = outputs/replica-<i>/ and CANFAR_BATCH_DIR = the batch folder; i is
 *   CANFAR_BATCH_REPLICA_ID (a sweep's batch-wide index), else REPLICA_ID;
 * - a replica may run more than once (CANFAR preempts and restarts headless jobs; "re-run failed"): each
 *   run is an attempt, numbered from the previous status file, and APPENDS to logs/replica-<i>.log under
 *   a `==== canfar: attempt k of replica i ... ====` line, so nothing of an earlier attempt is lost;
 * - output goes to the container log (stdout) AND logs/replica-<i>.log, which outlives the session;
 * - status/replica-<i>.json is replaced atomically (temporary file + mv) when the attempt starts and when
 *   it ends: `finished` with the exit code (and `outputsMissing` when an expected output is absent after
 *   exit 0), or `interrupted` with the signal when stopped by TERM, INT or HUP (not a final outcome: the
 *   platform may run the replica again);
 * - the combine step, without a watcher: after writing a final status, if every replica's status says
 *   finished with exit 0 and no missing output, the replica that creates `combine.lock` (mkdir is atomic)
 *   runs the combine script with the same interpreter, into logs/combine.log and status/combine.json; an
 *   interrupted combine removes the lock so that this replica's next attempt takes it again; with
 *   CANFAR_COMBINE_RERUN=k (`rerun-combine`, after a failed combine) run.sh runs only attempt k of the
 *   combine, in a session of its own;
 * - run.sh exits with the script's exit code (128 + signal number when stopped), or 127 when the image
 *   cannot run the script at all (see {@link interpreterCheck}), after a line on stderr and in the log
 *   saying what the image lacks.
 */
export function wrapperScript(options: WrapperOptions): string {
  const args = options.interpreter.args.map((arg) => ` ${shellQuote(arg)}`).join('');
  const check = interpreterCheck(options.interpreter, options.needsIPython);
  const python = options.python
    ? `
# The batch's Python helpers (canfar_batch; the official canfar.helpers.distributed when the image lacks
# the canfar package: an installed canfar still wins, see pylib/canfar/__init__.py).
PYTHONPATH=\${PYTHONPATH:+$PYTHONPATH:}$batch_dir/pylib
export PYTHONPATH
`
    : '';
  const expect = options.expect ?? [];
  const outputs =
    expect.length === 0
      ? `check_outputs() { missing=; }`
      : `# Expected outputs ({replica}, {set}, {shard} filled in; * globs), relative to the notebook's folder.
check_outputs() {
  missing=
  for pattern in ${expect.map(shellQuote).join(' ')}; do
    path=$(printf '%s' "$pattern" | sed -e "s/{replica}/$replica/g" -e "s/{set}/$set_id/g" -e "s/{shard}/$shard/g")
    found=
    for candidate in $path; do
      if [ -e "$candidate" ]; then found=1; fi
      break
    done
    if [ -z "$found" ]; then
      missing="\${missing:+$missing,}\\"$(json_string "$path")\\""
      say "run.sh: replica $replica exited 0 but its expected output $path is missing"
    fi
  done
}`;
  const unset = [
    'REPLICA_ID',
    'REPLICA_COUNT',
    'CANFAR_BATCH_REPLICA_ID',
    'CANFAR_SET_ID',
    'CANFAR_SET_COUNT',
    ...(options.sweptParameters ?? []).map((name) => `CANFAR_PARAM_${name}`),
  ].join(' ');
  const combine = options.combine
    ? `
# The combine step runs once per batch, after every replica finished with exit 0 and all its expected
# outputs, in the container of the replica that takes the lock (mkdir is atomic, on /arc as locally).
maybe_combine() {
  total=\${CANFAR_BATCH_REPLICA_COUNT:-\${REPLICA_COUNT:-1}}
  k=1
  while [ "$k" -le "$total" ]; do
    line=$(cat "$batch_dir/status/replica-$k.json" 2>/dev/null) || return 0
    case $line in *'"state":"finished"'*) ;; *) return 0 ;; esac
    case $line in *'"exitCode":0,'* | *'"exitCode":0}'*) ;; *) return 0 ;; esac
    case $line in *'"outputsMissing"'*) return 0 ;; esac
    k=$((k + 1))
  done
  if ! mkdir "$batch_dir/combine.lock" 2>/dev/null; then
    echo "run.sh: every replica has finished; another replica runs the combine (or ran it)" >>"$log"
    return 0
  fi
  echo "run.sh: every replica has finished; replica $replica runs the combine (logs/combine.log)" >>"$log"
  cstatus=$batch_dir/status/combine.json
  cattempt=$(next_attempt "$cstatus")
  runby=$replica
  run_combine "run by replica $replica"
}

# run_combine WHO: runs the combine script (the lock is held), with its status file and its log.
run_combine() {
  phase=combine
  cwho=$1
  cstart=$(now)
  write_combine running
  echo "==== canfar: combine of batch \${CANFAR_BATCH_ID:-?} (attempt $cattempt), $1 on $host, started $cstart ====" >>"$batch_dir/logs/combine.log"
  run_logged "$batch_dir/logs/combine.log" combine_process
  write_combine finished "$code"
  phase=done
}

# "Re-run combine" (canfar-lab batch rerun-combine): a session of its own runs only the combine, once
# every replica completed and the combine failed. CANFAR_COMBINE_RERUN is the combine's attempt it was
# launched for; its own lock (mkdir combine-<k>.lock) lets one session run it: a duplicate session does
# nothing, and one that comes after that attempt finished does nothing either. Stopped by a signal, it
# releases the lock, so that the platform's next run of this session (a requeue) runs it again.
rerun_combine() {
  # Not a replica: a signal before the combine starts records nothing.
  phase=rerun
  log=$batch_dir/logs/combine.log
  cstatus=$batch_dir/status/combine.json
  want=$CANFAR_COMBINE_RERUN
  case $want in
    '' | *[!0-9]*) say "run.sh: CANFAR_COMBINE_RERUN must be the combine's attempt number, got '$want'"; exit 2 ;;
  esac
  cattempt=$(next_attempt "$cstatus")
  case $(cat "$cstatus" 2>/dev/null) in
    *'"state":"finished"'*)
      if [ "$cattempt" -gt "$want" ]; then
        say "run.sh: attempt $((cattempt - 1)) of the combine has already finished: nothing to do"
        exit 0
      fi
      ;;
  esac
  if ! mkdir "$batch_dir/combine-$want.lock" 2>/dev/null; then
    say "run.sh: another session runs attempt $want of the combine (combine-$want.lock): nothing to do"
    exit 0
  fi
  rlock=$batch_dir/combine-$want.lock
  cd -- "$batch_dir/${BATCH_FOLDER_TO_NOTEBOOK_DIR}" || exit 126
  runby='"session"'
  run_combine "re-run in session \${skaha_sessionid:-?}"
  exit "$code"
}

# The combine sees the batch folder and the notebook's defaults for swept parameters, not this
# replica's identity (canfar_batch.replicas() lists every replica with its set and state).
combine_process() {
  unset ${unset}
  CANFAR_OUTPUT_DIR=$batch_dir/outputs/combine
  CANFAR_COMBINE=1
  export CANFAR_OUTPUT_DIR CANFAR_COMBINE
  mkdir -p "$CANFAR_OUTPUT_DIR"
  interpret "$batch_dir/${options.combine}"
}

# state [exit code] [signal]
write_combine() {
  tmp=$cstatus.tmp.$$
  {
    printf '{"schema":2,"batchId":"%s","replica":"combine","runBy":%s,"attempt":%s,"state":"%s"' "$(json_string "\${CANFAR_BATCH_ID:-}")" "$runby" "$cattempt" "$1"
    printf ',"host":"%s","sessionId":"%s","start":"%s"' "$(json_string "$host")" "$(json_string "\${skaha_sessionid:-}")" "$cstart"
    if [ -n "\${2:-}" ]; then printf ',"end":"%s","exitCode":%s' "$(now)" "$2"; fi
    if [ -n "\${3:-}" ]; then printf ',"signal":"%s"' "$3"; fi
    printf '}\\n'
  } >"$tmp" && mv -f "$tmp" "$cstatus"
}
`
    : `
maybe_combine() { :; }
rerun_combine() {
  say "run.sh: batch \${CANFAR_BATCH_ID:-?} has no combine step (no cell tagged combine)"
  exit 2
}
`;
  return `#!/bin/sh
# Replica wrapper of batch ${options.batchId}, written by jupyterlab-canfar. POSIX sh: images need not have bash.
# Usage (what every replica runs): sh /path/to/this/folder/run.sh   with REPLICA_ID set (1-based; in a
# sweep CANFAR_BATCH_REPLICA_ID, the batch-wide index, names the replica's files).
set -u

batch_dir=$(cd -- "$(dirname -- "$0")" && pwd) || { echo "run.sh: cannot enter the folder of $0" >&2; exit 126; }
replica=\${CANFAR_BATCH_REPLICA_ID:-\${REPLICA_ID:-1}}
case $replica in
  '' | *[!0-9]*) echo "run.sh: REPLICA_ID must be a positive integer, got '$replica'" >&2; exit 2 ;;
esac
set_id=\${CANFAR_SET_ID:-1}
shard=\${REPLICA_ID:-$replica}
CANFAR_BATCH_DIR=$batch_dir
export CANFAR_BATCH_DIR

log=$batch_dir/logs/replica-$replica.log
status=$batch_dir/status/replica-$replica.json
CANFAR_OUTPUT_DIR=$batch_dir/outputs/replica-$replica
export CANFAR_OUTPUT_DIR
mkdir -p "$batch_dir/logs" "$batch_dir/status" "$CANFAR_OUTPUT_DIR" || exit 126

now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
host=$(hostname 2>/dev/null || uname -n 2>/dev/null || echo unknown)
start=$(now)
child=
fifo=
tee_pid=
phase=script
rlock=
use_deno=

json_string() {
  printf '%s' "$1" | tr '\\n\\r\\t' '   ' | sed -e 's/\\\\/\\\\\\\\/g' -e 's/"/\\\\"/g'
}

# A line on stderr (the container log) and in the replica's log.
say() {
  echo "$1" >&2
  echo "$1" >>"$log"
}

# The attempt number: the previous status file's plus one (1 when there is none).
next_attempt() {
  if [ -f "$1" ]; then
    previous=$(sed -n 's/.*"attempt":\\([0-9][0-9]*\\).*/\\1/p' "$1" 2>/dev/null)
    echo $((\${previous:-1} + 1))
  else
    echo 1
  fi
}
attempt=$(next_attempt "$status")

# state [exit code] [signal] [missing outputs, JSON strings]: replaces the status file in one step
# (readers never see half a file).
write_status() {
  tmp=$status.tmp.$$
  {
    printf '{"schema":2,"batchId":"%s","replica":%s,"attempt":%s,"state":"%s"' "$(json_string "\${CANFAR_BATCH_ID:-}")" "$replica" "$attempt" "$1"
    printf ',"host":"%s","sessionId":"%s","start":"%s"' "$(json_string "$host")" "$(json_string "\${skaha_sessionid:-}")" "$start"
    if [ -n "\${2:-}" ]; then printf ',"end":"%s","exitCode":%s' "$(now)" "$2"; fi
    if [ -n "\${3:-}" ]; then printf ',"signal":"%s"' "$3"; fi
    if [ -n "\${4:-}" ]; then printf ',"outputsMissing":[%s]' "$4"; fi
    printf '}\\n'
  } >"$tmp" && mv -f "$tmp" "$status"
}

${outputs}
${combine}
# The script's end: the final status (then, maybe, the combine), and run.sh's exit code.
finish() {
  missing=
  if [ "$1" -eq 0 ]; then check_outputs; fi
  write_status finished "$1" "" "$missing"
  # Final: a signal from now on leaves the status as it is.
  phase=finished
  if [ "$1" -eq 0 ] && [ -z "$missing" ]; then maybe_combine; fi
  exit "$1"
}

# Stopped (preempted, session deleted, Ctrl-C, hang-up): stop the child too, and record the attempt as
# interrupted, not finished: on CANFAR a preempted replica runs again from the start.
on_signal() {
  trap '' TERM INT HUP
  if [ -n "$child" ]; then
    kill -TERM "$child" 2>/dev/null
    wait "$child" 2>/dev/null
  fi
  if [ -n "$tee_pid" ]; then
    # The child may never have opened the FIFO: tee would wait for a writer.
    kill -TERM "$tee_pid" 2>/dev/null
    wait "$tee_pid" 2>/dev/null
  fi
  if [ -n "$fifo" ]; then rm -f "$fifo"; fi
  if [ "$phase" = combine ]; then
    say "run.sh: the combine ($cwho) was stopped by SIG$1; the lock is released for a later attempt"
    write_combine interrupted "$2" "$1"
    if [ -n "$rlock" ]; then rmdir "$rlock" 2>/dev/null; else rmdir "$batch_dir/combine.lock" 2>/dev/null; fi
  elif [ "$phase" = script ]; then
    say "run.sh: replica $replica (attempt $attempt) stopped by SIG$1"
    write_status interrupted "$2" "$1"
  fi
  exit "$2"
}
trap 'on_signal TERM 143' TERM
trap 'on_signal INT 130' INT
trap 'on_signal HUP 129' HUP

# run_logged LOG COMMAND...: runs COMMAND in the background (so that signals reach it), its output
# appended to LOG and copied to stdout; sets $code. A FIFO lets the shell know the command's own pid and
# exit code, which a plain "command | tee" pipeline hides in POSIX sh (no pipefail).
run_logged() {
  target=$1
  shift
  fifo=\${TMPDIR:-/tmp}/canfar-replica-$replica-$$.fifo
  rm -f "$fifo"
  if mkfifo "$fifo" 2>/dev/null; then
    tee -a "$target" <"$fifo" &
    tee_pid=$!
    "$@" >"$fifo" 2>&1 &
  else
    fifo=
    "$@" >>"$target" 2>&1 &
  fi
  child=$!
  wait "$child"
  code=$?
  child=
  if [ -n "$tee_pid" ]; then wait "$tee_pid" 2>/dev/null; fi
  tee_pid=
  if [ -n "$fifo" ]; then rm -f "$fifo"; fi
  fifo=
}

interpreter_command=${shellQuote(options.interpreter.command)}
if [ "$interpreter_command" = python3 ] && ! command -v python3 >/dev/null 2>&1 && command -v python >/dev/null 2>&1; then
  interpreter_command=python
fi
${python}
# interpret FILE: replaces the (background) shell with the kernel's interpreter running FILE.
interpret() {
  if [ -n "$use_deno" ]; then exec deno run -A "$1"; fi
  exec "$interpreter_command"${args} "$1"
}

# A session launched to run the combine again runs only that (see rerun_combine).
if [ -n "\${CANFAR_COMBINE_RERUN:-}" ]; then rerun_combine; fi

write_status running
# Like the notebook's kernel, the script runs in the notebook's folder: its relative paths mean the same.
cd -- "$batch_dir/${BATCH_FOLDER_TO_NOTEBOOK_DIR}" || finish 126
echo "==== canfar: attempt $attempt of replica $replica on $host, started $start ====" >>"$log"
where=
if [ -n "\${CANFAR_SET_ID:-}" ]; then where=" (set $set_id, shard $shard/\${REPLICA_COUNT:-?})"; fi
echo "run.sh: batch \${CANFAR_BATCH_ID:-?} replica $replica/\${CANFAR_BATCH_REPLICA_COUNT:-\${REPLICA_COUNT:-?}}$where on $host, started $start" >>"$log"
${check}
run_logged "$log" interpret "$batch_dir/${options.script}"
finish "$code"
`;
}

/**
 * What run.sh checks before starting an interpreter that not every image can provide (sh lines that may
 * set `$use_deno`, or end the replica with 127).
 * A Python notebook that needs IPython (`needsIPython` of the conversion): the interpreter must import it.
 * TypeScript through `node --experimental-strip-types` (tslab notebooks), which needs
 * Node.js >= 22.6; an older node stops at once with `node: bad option: --experimental-strip-types`, which
 * tells a user nothing. Probed quietly; if node cannot strip types, `deno run -A` runs the same `.mts`
 * (Deno provides `node:module`'s createRequire); with neither, run.sh ends with 127 and says what to do.
 */
export function interpreterCheck(
  interpreter: { command: string; args: string[] },
  needsIPython?: { cells: number[] },
): string {
  if (needsIPython && needsIPython.cells.length > 0) {
    // The script starts an IPython shell for the magics only IPython runs: say so before anything runs.
    const cells = needsIPython.cells.map((cell) => cell + 1).join(', ');
    return `
# This notebook needs IPython (cells ${cells} use magics that only IPython runs).
if ! "$interpreter_command" -c 'import IPython' >/dev/null 2>&1; then
  say "run.sh: this notebook needs IPython in the image (cells ${cells} use magics that only IPython runs), but $interpreter_command cannot import IPython; use an image with ipython installed, or remove those magics from the notebook"
  finish 127
fi
`;
  }
  if (interpreter.command === 'node' && interpreter.args.includes('--experimental-strip-types')) {
    return `
# TypeScript through node needs Node.js >= 22.6 (older versions refuse --experimental-strip-types).
if ! "$interpreter_command" --experimental-strip-types -e 0 >/dev/null 2>&1; then
  found=$("$interpreter_command" --version 2>/dev/null) && found="node $found" || found='no working node on PATH'
  if command -v deno >/dev/null 2>&1; then
    say "run.sh: $found cannot strip TypeScript types (Node.js >= 22.6 needed); running the script with deno run -A instead"
    use_deno=1
  else
    say "run.sh: this TypeScript script needs Node.js >= 22.6 (node --experimental-strip-types) or Deno in the image, found $found; use an image with Node.js 22.6 or later or with deno on PATH, or run the notebook with a Deno kernel"
    finish 127
  fi
fi
`;
  }
  return '';
}

/**
 * A fallback `canfar.helpers.distributed` with the official helpers' exact behaviour (same items per
 * replica, same errors, same laziness), so `from canfar.helpers import distributed` works in a replica
 * whose image lacks the canfar package, and a notebook splits data the same way with or without it.
 */
export const PYTHON_DISTRIBUTED = `"""Fallback for canfar.helpers.distributed, written by jupyterlab-canfar.

Used only when the canfar package is not installed in the image. chunk() and stripe() behave exactly as
the official helpers: REPLICA_ID (1-based) and REPLICA_COUNT are read when iteration starts, default 1.
"""

import itertools
import os


def _from_env(name):
    return int(os.environ.get(name, "1"))


def stripe(iterable, replica=None, total=None):
    """Items at positions replica-1, replica-1+total, ... (lazy: works on endless iterables)."""
    replica = _from_env("REPLICA_ID") if replica is None else replica
    total = _from_env("REPLICA_COUNT") if total is None else total
    if replica < 1 or (total > 0 and replica > total):
        return
    # total <= 0 makes islice raise ValueError, as in the official helper.
    yield from itertools.islice(iterable, replica - 1, None, total)


def chunk(iterable, replica=None, total=None):
    """The replica-th contiguous share; the last replica also takes the remainder."""
    replica = _from_env("REPLICA_ID") if replica is None else replica
    total = _from_env("REPLICA_COUNT") if total is None else total
    if total <= 0:
        raise ValueError("total must be positive")
    if replica < 1:
        raise ValueError("replica must be >= 1 (1-based indexing expected)")
    if replica > total:
        raise ValueError("replica cannot exceed total")
    items = list(iterable)
    count = len(items)
    index = replica - 1
    if count < total:
        if index < count:
            yield items[index]
        return
    size = count // total
    end = count if replica == total else replica * size
    yield from items[index * size : end]
`;

/**
 * `pylib/canfar/__init__.py`: the fallback canfar package steps aside when a real one is installed
 * elsewhere on sys.path (pylib/ is on PYTHONPATH for the canfar_batch helpers, which would otherwise hide
 * an installed canfar in site-packages).
 */
export const PYTHON_CANFAR_INIT = `"""Fallback canfar package (helpers only), written by jupyterlab-canfar.

When a real canfar package is installed elsewhere on sys.path, importing canfar gives that one.
"""

import importlib.machinery as _machinery
import importlib.util as _util
import os as _os
import sys as _sys


def _real_canfar():
    here = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
    for entry in list(_sys.path):
        if _os.path.abspath(entry or _os.getcwd()) == here:
            continue
        spec = _machinery.PathFinder.find_spec(__name__, [entry])
        if spec is not None and spec.origin and spec.loader is not None:
            return spec
    return None


_spec = _real_canfar()
if _spec is not None:
    _module = _util.module_from_spec(_spec)
    _sys.modules[__name__] = _module
    _spec.loader.exec_module(_module)
`;

/**
 * `pylib/canfar_batch/__init__.py` of a batch folder: helpers for replicas and combine cells, importable
 * interactively too where the jupyterlab_canfar wheel ships it (python/canfar_batch/__init__.py, written
 * from this text by `npm run build:node`; a test fails when the committed copy differs).
 */
export const CANFAR_BATCH_PY = `"""Helpers for the replicas and the combine step of a jupyterlab-canfar batch.

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
    """The batch folder: \`path\` when given, else $CANFAR_BATCH_DIR (set by run.sh)."""
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
    """Writes \`data\` (str or bytes) to \`path\` in one step: a temporary file beside it, then a rename.

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
`;

export function pythonShimFiles(): BatchFile[] {
  return [
    { path: 'pylib/canfar/__init__.py', content: PYTHON_CANFAR_INIT },
    { path: 'pylib/canfar/helpers/__init__.py', content: '' },
    { path: 'pylib/canfar/helpers/distributed.py', content: PYTHON_DISTRIBUTED },
    { path: 'pylib/canfar_batch/__init__.py', content: CANFAR_BATCH_PY },
  ];
}
