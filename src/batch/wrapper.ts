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
  /** Python scripts get the `canfar.helpers.distributed` fallback on PYTHONPATH. */
  python: boolean;
  /** The conversion's `needsIPython`: run.sh checks that the interpreter can import IPython. */
  needsIPython?: { cells: number[] };
}

/**
 * `run.sh`: the replica's command (`sh <folder>/run.sh`). POSIX sh, because an image need not have bash
 * (tested with dash). It finds its folder from `$0`, so it holds no absolute path and a copied batch
 * folder still works. What it guarantees:
 * - the script runs with the kernel's interpreter, in the notebook's folder (as in the notebook), with
 *   CANFAR_OUTPUT_DIR = outputs/replica-<i>/ of the batch folder;
 * - output goes to the container log (stdout, what the platform shows) AND logs/replica-<i>.log, which
 *   outlives the session (the platform deletes a finished session's log an hour after it ends);
 * - status/replica-<i>.json is replaced atomically (temporary file + mv) when the replica starts and when
 *   it ends, also when the script fails or the replica is stopped with TERM, INT or HUP;
 * - run.sh exits with the script's exit code (128 + signal number when stopped), or 127 when the image
 *   cannot run the script at all (see {@link interpreterCheck}), after a line on stderr and in the log
 *   saying what the image lacks.
 */
export function wrapperScript(options: WrapperOptions): string {
  const args = options.interpreter.args.map((arg) => `${shellQuote(arg)} `).join('');
  const script = `"$batch_dir/${options.script}"`;
  const check = interpreterCheck(options.interpreter, script, options.needsIPython);
  const python = options.python
    ? `
# The official helpers (from canfar.helpers import distributed) without the canfar package: the batch's
# pylib/ is added only when the real package cannot be imported, so an installed canfar always wins.
if ! "$interpreter_command" -c 'import canfar.helpers.distributed' >/dev/null 2>&1; then
  PYTHONPATH=\${PYTHONPATH:+$PYTHONPATH:}$batch_dir/pylib
  export PYTHONPATH
fi
`
    : '';
  return `#!/bin/sh
# Replica wrapper of batch ${options.batchId}, written by jupyterlab-canfar. POSIX sh: images need not have bash.
# Usage (what every replica runs): sh /path/to/this/folder/run.sh   with REPLICA_ID set (1-based).
set -u

batch_dir=$(cd -- "$(dirname -- "$0")" && pwd) || { echo "run.sh: cannot enter the folder of $0" >&2; exit 126; }
replica=\${REPLICA_ID:-1}
case $replica in
  '' | *[!0-9]*) echo "run.sh: REPLICA_ID must be a positive integer, got '$replica'" >&2; exit 2 ;;
esac

log=$batch_dir/logs/replica-$replica.log
status=$batch_dir/status/replica-$replica.json
CANFAR_OUTPUT_DIR=$batch_dir/outputs/replica-$replica
export CANFAR_OUTPUT_DIR
mkdir -p "$batch_dir/logs" "$batch_dir/status" "$CANFAR_OUTPUT_DIR" || exit 126

host=$(hostname 2>/dev/null || uname -n 2>/dev/null || echo unknown)
start=$(date -u +%Y-%m-%dT%H:%M:%SZ)
child=
fifo=
tee_pid=

json_string() {
  printf '%s' "$1" | tr '\\n\\r\\t' '   ' | sed -e 's/\\\\/\\\\\\\\/g' -e 's/"/\\\\"/g'
}

# state [exit code] [signal]: replaces the status file in one step (readers never see half a file).
write_status() {
  tmp=$status.tmp.$$
  {
    printf '{"schema":1,"batchId":"%s","replica":%s,"state":"%s"' "$(json_string "\${CANFAR_BATCH_ID:-}")" "$replica" "$1"
    printf ',"host":"%s","sessionId":"%s","start":"%s"' "$(json_string "$host")" "$(json_string "\${skaha_sessionid:-}")" "$start"
    if [ -n "\${2:-}" ]; then
      printf ',"end":"%s","exitCode":%s' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$2"
    fi
    if [ -n "\${3:-}" ]; then
      printf ',"signal":"%s"' "$3"
    fi
    printf '}\\n'
  } >"$tmp" && mv -f "$tmp" "$status"
}

finish() {
  if [ -n "$tee_pid" ]; then wait "$tee_pid" 2>/dev/null; fi
  if [ -n "$fifo" ]; then rm -f "$fifo"; fi
  write_status finished "$1" "\${2:-}"
  exit "$1"
}

# Stopped (session deleted, Ctrl-C, hang-up): stop the script too, and still record how it ended.
on_signal() {
  trap '' TERM INT HUP
  if [ -n "$child" ]; then
    kill -TERM "$child" 2>/dev/null
    wait "$child" 2>/dev/null
  elif [ -n "$tee_pid" ]; then
    # The script never started: tee still waits for a writer on the FIFO.
    kill -TERM "$tee_pid" 2>/dev/null
  fi
  echo "run.sh: replica $replica stopped by SIG$1" >&2
  echo "run.sh: replica $replica stopped by SIG$1" >>"$log"
  finish "$2" "$1"
}
trap 'on_signal TERM 143' TERM
trap 'on_signal INT 130' INT
trap 'on_signal HUP 129' HUP

interpreter_command=${shellQuote(options.interpreter.command)}
if [ "$interpreter_command" = python3 ] && ! command -v python3 >/dev/null 2>&1 && command -v python >/dev/null 2>&1; then
  interpreter_command=python
fi
${python}
write_status running
# Like the notebook's kernel, the script runs in the notebook's folder: its relative paths mean the same.
cd -- "$batch_dir/${BATCH_FOLDER_TO_NOTEBOOK_DIR}" || finish 126
echo "run.sh: batch \${CANFAR_BATCH_ID:-?} replica $replica/\${REPLICA_COUNT:-?} on $host, started $start" >"$log"

# The interpreter's command line: the interpreter's options, then the script.
set -- ${args}${script}
${check}
# A FIFO lets the shell know the script's own pid (to forward signals) and its exit code, which a plain
# "script | tee" pipeline hides in POSIX sh (no pipefail).
fifo=\${TMPDIR:-/tmp}/canfar-replica-$replica-$$.fifo
rm -f "$fifo"
if mkfifo "$fifo" 2>/dev/null; then
  tee -a "$log" <"$fifo" &
  tee_pid=$!
  "$interpreter_command" "$@" >"$fifo" 2>&1 &
else
  fifo=
  "$interpreter_command" "$@" >>"$log" 2>&1 &
fi
child=$!
wait "$child"
code=$?
child=
if [ -z "$fifo" ]; then cat "$log"; fi
finish "$code"
`;
}

/**
 * What run.sh checks before starting an interpreter that not every image can provide, as sh lines run after
 * `set -- <options> <script>` (they may replace `$interpreter_command` and the positional parameters);
 * `script` is the script's path as an sh word.
 * A Python notebook that needs IPython (`needsIPython` of the conversion): the interpreter must import it.
 * TypeScript through `node --experimental-strip-types` (tslab notebooks), which needs
 * Node.js >= 22.6; an older node stops at once with `node: bad option: --experimental-strip-types`, which
 * tells a user nothing. Probed quietly; if node cannot strip types, `deno run -A` runs the same `.mts`
 * (Deno provides `node:module`'s createRequire); with neither, run.sh ends with 127 and says what to do.
 */
export function interpreterCheck(
  interpreter: { command: string; args: string[] },
  script: string,
  needsIPython?: { cells: number[] },
): string {
  if (needsIPython && needsIPython.cells.length > 0) {
    // The script starts an IPython shell for the magics only IPython runs: say so before anything runs.
    const cells = needsIPython.cells.map((cell) => cell + 1).join(', ');
    return `
# This notebook needs IPython (cells ${cells} use magics that only IPython runs).
if ! "$interpreter_command" -c 'import IPython' >/dev/null 2>&1; then
  message="run.sh: this notebook needs IPython in the image (cells ${cells} use magics that only IPython runs), but $interpreter_command cannot import IPython; use an image with ipython installed, or remove those magics from the notebook"
  echo "$message" >&2
  echo "$message" >>"$log"
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
    message="run.sh: $found cannot strip TypeScript types (Node.js >= 22.6 needed); running the script with deno run -A instead"
    echo "$message" >&2
    echo "$message" >>"$log"
    interpreter_command=deno
    set -- run -A ${script}
  else
    message="run.sh: this TypeScript script needs Node.js >= 22.6 (node --experimental-strip-types) or Deno in the image, found $found; use an image with Node.js 22.6 or later or with deno on PATH, or run the notebook with a Deno kernel"
    echo "$message" >&2
    echo "$message" >>"$log"
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

export function pythonShimFiles(): BatchFile[] {
  return [
    {
      path: 'pylib/canfar/__init__.py',
      content: '"""Fallback canfar package (helpers only), written by jupyterlab-canfar."""\n',
    },
    { path: 'pylib/canfar/helpers/__init__.py', content: '' },
    { path: 'pylib/canfar/helpers/distributed.py', content: PYTHON_DISTRIBUTED },
  ];
}
