#!/usr/bin/env bash
# The wheel installed as users install it, in a real JupyterLab 4.0 on jupyter_server 2: Debian trixie's
# `jupyterlab` package in a chroot (scripts/trixie-chroot.sh builds it once and caches it outside the
# repository). Installs the wheel with `pip install --no-index --no-deps`, checks `jupyter labextension
# list` (jupyterlab-canfar enabled and OK: compatible with that JupyterLab) and `jupyter server extension
# list`, runs the server half's pytest suite there (on jupyter_server 2 and Python 3.13), starts the real
# `jupyter lab` command on a free port with a token, and runs the real-browser smoke test and a 2-replica
# batch (ui-tests/tests, CANFAR_UI_SERVER_URL) from the host's Chromium.
#
#   bash scripts/test-trixie.sh [WHEEL [PLAYWRIGHT ARGS...]]
# builds the wheel when none is given ('' builds it too); PLAYWRIGHT ARGS replace the default tests
# (e.g. `-g batch`). Needs root: run as root or it asks sudo.
#
# Everything it starts is stopped by PID; proc (and the read-only checkout for pytest) are mounted only
# while something runs in the chroot and are always unmounted; the wheel is uninstalled again and the run's folder removed, so the cached chroot
# stays as built. Each step says how long it took.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
log() { echo "test-trixie: $*" >&2; }
fail() {
  log "FAILED: $*"
  exit 1
}
step_start=$SECONDS
stage_start=$SECONDS
step() {
  log "$1 took $((SECONDS - step_start)) s"
  step_start=$SECONDS
}
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || fail "needs root (debootstrap, chroot, mount): run it as root or install sudo."
  exec sudo --preserve-env bash "$0" "$@"
fi

if [ -n "${1:-}" ]; then
  wheel="$1"
else
  wheel=$(npm run --silent build:wheel | tail -1)
  step "wheel (npm run build:wheel)"
fi
[ -f "$wheel" ] || fail "no wheel at '$wheel'"
shift || true
playwright_args=("$@")
[ ${#playwright_args[@]} -gt 0 ] || playwright_args=(ui-tests/tests/smoke.spec.ts ui-tests/tests/batch.spec.ts)

CACHE=${CANFAR_CHROOT_CACHE:-/var/cache/jupyterlab-canfar}
mkdir -p "$CACHE"
# The chroot is ours alone while we use it (another run waits here; a rebuild cannot remove it under us).
exec 9>"$CACHE/trixie.lock"
flock 9
export CANFAR_CHROOT_LOCK_HELD=1
root=$(bash scripts/trixie-chroot.sh | tail -1)
step "chroot ($(cat "$root/.complete"))"

run_dir=/tmp/canfar-trixie-run # inside the chroot
host_run="$root$run_dir"
server_pid=""
installed=""

# PIDs of processes whose root directory is the chroot (all ours: we hold the lock).
chrooted_pids() {
  local proc pid
  for proc in /proc/[0-9]*; do
    pid=${proc#/proc/}
    [ "$(readlink "$proc/root" 2>/dev/null)" = "$root" ] && echo "$pid"
  done
  return 0
}
in_chroot() {
  chroot "$root" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$run_dir/home" LANG=C.UTF-8 \
    XDG_DATA_HOME="$run_dir/data" "$@"
}
cleanup() {
  local status=$? pid left
  trap - EXIT
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
  fi
  left=$(chrooted_pids | tr '\n' ' ')
  if [ -n "${left// /}" ]; then
    log "still running in the chroot after Jupyter stopped: $left- stopping them by PID"
    for pid in $left; do ps -o pid=,args= -p "$pid" >&2 || true; done
    for pid in $left; do kill -TERM "$pid" 2>/dev/null || true; done
    sleep 2
    for pid in $(chrooted_pids); do kill -KILL "$pid" 2>/dev/null || true; done
    [ "$status" != 0 ] || status=1
  fi
  if [ -n "$installed" ] && mountpoint -q "$root/proc"; then
    in_chroot pip uninstall --quiet --yes --break-system-packages jupyterlab_canfar >/dev/null 2>&1 ||
      log "could not uninstall the wheel from the chroot (the next run reinstalls it)"
  fi
  if mountpoint -q "$host_run/src"; then umount "$host_run/src" || umount -l "$host_run/src"; fi
  if mountpoint -q "$root/proc"; then umount "$root/proc" || umount -l "$root/proc"; fi
  if [ -f "$host_run/jupyter.log" ]; then
    mkdir -p "$repo/ui-tests/test-results/trixie"
    cp "$host_run/jupyter.log" "$repo/ui-tests/test-results/trixie/jupyter.log"
  fi
  rm -rf --one-file-system "$host_run"
  if grep -q " $root/" /proc/mounts; then
    log "mounts left under $root:"
    grep " $root/" /proc/mounts >&2
    status=1
  fi
  [ "$status" = 0 ] && log "done in $((SECONDS - stage_start)) s" || log "failed after $((SECONDS - stage_start)) s"
  exit "$status"
}
trap cleanup EXIT
trap "exit 130" INT TERM

rm -rf --one-file-system "$host_run"
mkdir -p "$host_run/home" "$host_run/root" "$host_run/data" "$host_run/workspaces" \
  "$host_run/settings/@jupyterlab/apputils-extension"
# A user's settings that keep the "Jupyter news" question and the update check from covering the page.
echo '{ "fetchNews": "false", "checkForUpdates": false }' \
  >"$host_run/settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings"
cp "$wheel" "$host_run/"
mount -t proc proc "$root/proc"
installed=yes
in_chroot pip install --quiet --break-system-packages --no-index --no-deps --force-reinstall \
  "$run_dir/$(basename "$wheel")" 2>&1 | grep -v "^WARNING: Running pip as the 'root' user" >&2 || true
in_chroot python3 -c 'import jupyterlab_canfar' || fail "pip did not install the wheel in the chroot"
step "pip install --no-index --no-deps $(basename "$wheel")"

version=$(node -p "require('./package.json').version")
strip() { sed 's/\x1b\[[0-9;]*m//g'; }
labext=$(in_chroot jupyter labextension list 2>&1 | strip)
echo "$labext" | sed 's/^/    /' >&2
echo "$labext" | grep -Eq "^ +jupyterlab-canfar v$version enabled +OK" ||
  fail "jupyter labextension list does not show jupyterlab-canfar v$version enabled and OK"
if echo "$labext" | grep -Eq "( X$| X |incompatible|compatibility errors)"; then
  fail "jupyter labextension list reports an incompatibility"
fi
serverext=$(in_chroot jupyter server extension list 2>&1 | strip)
echo "$serverext" | sed 's/^/    /' >&2
echo "$serverext" | grep -Eq "jupyterlab_canfar enabled" && echo "$serverext" | grep -Eq "jupyterlab_canfar $version OK" ||
  fail "jupyter server extension list does not show jupyterlab_canfar $version enabled and OK"
step "jupyter labextension list, jupyter server extension list"

# The server half's own tests (pytest, with their real jupyter_server processes and local server) on this
# jupyter_server 2 and Python: the checkout, mounted read-only for as long as they run.
mkdir -p "$host_run/src"
mount --bind "$repo" "$host_run/src"
mount -o remount,bind,ro "$host_run/src"
in_chroot PYTHONDONTWRITEBYTECODE=1 sh -c "cd $run_dir/src && exec python3 -m pytest jupyterlab_canfar/tests -q -p no:cacheprovider --basetemp=$run_dir/pytest" >&2 ||
  fail "the server half's tests (pytest) failed on jupyter_server $(in_chroot python3 -c 'import jupyter_server; print(jupyter_server.__version__)')"
umount "$host_run/src"
step "the server half's tests (pytest) on jupyter_server $(in_chroot python3 -c 'import jupyter_server; print(jupyter_server.__version__)'), Python $(in_chroot python3 -c 'import platform; print(platform.python_version())')"

port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token=$(/usr/bin/python3 -c 'import secrets; print(secrets.token_hex(16))')
# `exec` all the way down: the PID we hold is jupyter-lab's own.
chroot "$root" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$run_dir/home" LANG=C.UTF-8 \
  XDG_DATA_HOME="$run_dir/data" PYTHONUNBUFFERED=1 \
  sh -c "cd $run_dir/root && exec jupyter-lab --allow-root --no-browser --ServerApp.ip=127.0.0.1 \
    --ServerApp.port=$port --ServerApp.port_retries=0 --IdentityProvider.token=$token \
    --ServerApp.root_dir=$run_dir/root --LabApp.expose_app_in_browser=True \
    --LabApp.user_settings_dir=$run_dir/settings --LabApp.workspaces_dir=$run_dir/workspaces" \
  >"$host_run/jupyter.log" 2>&1 &
server_pid=$!
/usr/bin/python3 - "$port" "$token" "$version" "$server_pid" <<'PY' || {
import json, os, sys, time, urllib.request

port, token, version, pid = sys.argv[1:]
base = f"http://127.0.0.1:{port}"
def get(path, timeout=60):
    request = urllib.request.Request(base + path, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()
deadline = time.monotonic() + 90
while True:
    if not os.path.exists(f"/proc/{pid}"):
        sys.exit("jupyter lab exited before it answered")
    try:
        get("/api/status", timeout=2)
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit("jupyter lab did not answer within 90 s")
        time.sleep(0.3)
info = json.loads(get("/canfar/api/info"))
print(f"test-trixie: /canfar/api/info: endpoint {info['endpoint']}, ok {info['ok']}, version {info.get('version')}"
      + (f", error: {info.get('error')}" if not info["ok"] else ""))
if info.get("version") != version or not info["ok"]:
    sys.exit(f"the server half in the chroot is not usable at version {version}")
PY
  sed 's/^/    /' "$host_run/jupyter.log" >&2
  fail "jupyter lab in the chroot did not come up with a usable server half (its log is above)"
}
step "jupyter lab $(in_chroot python3 -c 'import jupyterlab; print(jupyterlab.__version__)') started (pid $server_pid, port $port)"

# The browser tests (smoke: the panel shows the local endpoint; batch: 2 replicas, pending -> completed),
# results apart from the rig's.
CANFAR_UI_SERVER_URL="http://127.0.0.1:$port" CANFAR_UI_SERVER_TOKEN="$token" \
  CANFAR_UI_SERVER_ROOT="$host_run/root" CANFAR_UI_SERVER_LOG="$host_run/jupyter.log" \
  CANFAR_UI_BATCH_REPLICAS=2 \
  npx playwright test -c ui-tests/playwright.config.ts --reporter=list --output=ui-tests/test-results/trixie \
  "${playwright_args[@]}" || {
  tail -n 60 "$host_run/jupyter.log" | sed 's/^/    /' >&2
  fail "the browser tests against JupyterLab in the chroot failed (the end of its log is above; traces and screenshots in ui-tests/test-results/trixie)"
}
step "browser tests (Playwright, host Chromium)"

# Jupyter stops by its PID, and takes the local server (and kernels) with it: cleanup checks for leftovers.
kill -TERM "$server_pid"
for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
kill -0 "$server_pid" 2>/dev/null && fail "jupyter lab (pid $server_pid) did not stop within 20 s of SIGTERM"
server_pid=""
for _ in $(seq 25); do [ -z "$(chrooted_pids)" ] && break; sleep 0.2; done
step "jupyter lab stopped"
