#!/usr/bin/env bash
# The wheel as a pip user gets it, on this machine (jupyter_server 1.x from Debian): builds it
# (`npm run build:wheel`), installs it with pip, without any package index, into a fresh venv that sees
# the system's Jupyter (--system-site-packages), and checks, from a folder outside the checkout:
#   - `jupyter server extension list` shows jupyterlab_canfar enabled by the venv's own config;
#   - JupyterLab's discovery (jupyterlab_server) finds the labextension in the venv's share/ at this version;
#   - a Jupyter server started from the venv, with no extension option, answers /canfar/api/info with the
#     local endpoint and this version, and starts the local server from the wheel's bundled CLI with the
#     system's node (nothing of this checkout on any path), which stops again with Jupyter.
#   bash scripts/test-wheel.sh [WHEEL]      (builds the wheel when none is given)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
log() { echo "test-wheel: $*" >&2; }
fail() {
  log "FAILED: $*"
  exit 1
}
started=$SECONDS
version=$(node -p "require('$repo/package.json').version")
if [ $# -ge 1 ]; then
  wheel="$1"
else
  wheel=$(cd "$repo" && npm run --silent build:wheel | tail -1)
fi
[ -f "$wheel" ] || fail "no wheel at '$wheel'"

tmp=$(mktemp -d /tmp/canfar-wheel-test.XXXXXX)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/home" "$tmp/root" "$tmp/config" "$tmp/data"
venv="$tmp/venv"
/usr/bin/python3 -m venv --system-site-packages "$venv"
# Dependencies (jupyter_server, tornado, PyYAML) must be satisfied by what is installed: no index at all.
"$venv/bin/pip" install --no-index --disable-pip-version-check --quiet "$wheel"
log "installed $(basename "$wheel") into a fresh venv with pip --no-index"

# A user's environment: this venv first on PATH, the system's node, no checkout anywhere, a fresh home.
run() {
  (cd "$tmp/root" && env -i PATH="$venv/bin:/usr/bin:/bin" HOME="$tmp/home" LANG=C.UTF-8 \
    JUPYTER_CONFIG_DIR="$tmp/config" XDG_DATA_HOME="$tmp/data" "$@")
}

where=$(run python -c 'import jupyterlab_canfar as m; print(m.__file__, m.__version__)')
case "$where" in
  "$venv"/lib/python3*/site-packages/jupyterlab_canfar/__init__.py" $version") ;;
  *) fail "jupyterlab_canfar imports from '$where', not from the venv at version $version" ;;
esac

# `jupyter server extension list`; the venv has no `jupyter-server` script of its own (jupyter_server comes
# from the system), so through its python. Colours stripped.
# Top-level packages the wheel carries from python/ (e.g. canfar_batch) import from the venv too.
for init in "$repo"/python/*/__init__.py; do
  [ -f "$init" ] || continue
  name=$(basename "$(dirname "$init")")
  found=$(run python -c "import $name; print($name.__file__)") || fail "import $name failed in the venv"
  case "$found" in "$venv"/*) ;; *) fail "$name imports from $found, not from the venv" ;; esac
  log "$name (from python/) imports from the venv"
done

listing=$(run python -m jupyter_server extension list 2>&1 | sed 's/\x1b\[[0-9;]*m//g')
echo "$listing" | sed 's/^/    /' >&2
echo "$listing" | awk -v dir="Config dir: $venv/etc/jupyter" -v v="$version" '
  index($0, "Config dir:") == 1 { inside = ($0 == dir) }
  inside && /jupyterlab_canfar enabled/ { enabled = 1 }
  inside && index($0, "jupyterlab_canfar " v " OK") { ok = 1 }
  END { exit !(enabled && ok) }' ||
  fail "jupyter server extension list does not show jupyterlab_canfar $version enabled and OK from $venv/etc/jupyter"
log "server extension: enabled from the venv's config, version $version OK"

run python - "$venv" "$version" <<'PY' || fail "JupyterLab's discovery does not find the labextension in the venv"
import os, sys
from jupyter_core.paths import jupyter_path
from jupyterlab_server.config import get_federated_extensions

venv, version = sys.argv[1], sys.argv[2]
found = get_federated_extensions(jupyter_path("labextensions")).get("jupyterlab-canfar")
assert found, "jupyterlab-canfar is not among the federated extensions"
expected = os.path.join(venv, "share", "jupyter", "labextensions", "jupyterlab-canfar")
assert os.path.realpath(found["ext_path"]) == os.path.realpath(expected), found["ext_path"]
assert found["version"] == version, found["version"]
load = found["jupyterlab"]["_build"]["load"]
assert os.path.isfile(os.path.join(expected, load)), load
assert found.get("install", {}).get("packageName") == "jupyterlab_canfar", found.get("install")
print(f"test-wheel: labextension {found['name']} {found['version']} found in {found['ext_path']} (entry {load})")
PY

port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token=$(/usr/bin/python3 -c 'import secrets; print(secrets.token_hex(16))')
(cd "$tmp/root" && exec env -i PATH="$venv/bin:/usr/bin:/bin" HOME="$tmp/home" LANG=C.UTF-8 \
  JUPYTER_CONFIG_DIR="$tmp/config" XDG_DATA_HOME="$tmp/data" \
  "$venv/bin/python" -m jupyter_server --no-browser --allow-root --ServerApp.ip=127.0.0.1 \
  --ServerApp.port="$port" --ServerApp.port_retries=0 --ServerApp.token="$token" \
  --ServerApp.root_dir="$tmp/root") >"$tmp/server.log" 2>&1 &
server_pid=$!

/usr/bin/python3 - "$port" "$token" "$version" "$venv" "$tmp/data" "$server_pid" <<'PY' ||
import json, os, sys, time, urllib.request

port, token, version, venv, data, server_pid = sys.argv[1:]
base = f"http://127.0.0.1:{port}"

def get(path, timeout=60):
    request = urllib.request.Request(base + path, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, response.read()

deadline = time.monotonic() + 60
while True:
    try:
        get("/api/status", timeout=2)
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit("the Jupyter server did not answer within 60 s")
        time.sleep(0.2)
status, body = get("/canfar/api/info")
info = json.loads(body)
assert info["ok"] is True and info["endpoint"] == "local", info
assert info["version"] == version, info
status, body = get("/canfar/api/skaha/v1/context")
assert status == 200 and "cores" in json.loads(body), body[:200]
record = os.path.join(data, "jupyterlab-canfar", "local", "server.json")
pid = json.load(open(record, encoding="utf-8"))["pid"]
with open(f"/proc/{pid}/cmdline", "rb") as handle:
    argv = handle.read().split(b"\0")
bundled = [a.decode() for a in argv if a.endswith(b"jupyterlab_canfar/cli/canfar-lab.cjs")]
assert bundled and bundled[0].startswith(venv + "/lib/"), argv
assert argv[0].decode() in ("/usr/bin/node", "node"), argv
print(f"test-wheel: /canfar/api/info says endpoint local, version {version}; the local server (pid {pid}) runs "
      f"{argv[0].decode()} {bundled[0]}")
with open(os.path.join(data, "local-pid"), "w") as handle:
    handle.write(str(pid))
PY
  {
    sed 's/^/    /' "$tmp/server.log" >&2
    fail "the installed server half did not serve the local endpoint with the bundled CLI (server log above)"
  }

# Jupyter stops, and the local server it started stops with it.
local_pid=$(cat "$tmp/data/local-pid")
kill -TERM "$server_pid"
for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
kill -0 "$server_pid" 2>/dev/null && fail "the Jupyter server (pid $server_pid) did not stop within 20 s of SIGTERM"
server_pid=""
for _ in $(seq 50); do kill -0 "$local_pid" 2>/dev/null || break; sleep 0.2; done
if kill -0 "$local_pid" 2>/dev/null; then
  kill -TERM "$local_pid"
  fail "the local server (pid $local_pid) outlived the Jupyter server that started it"
fi
log "Jupyter stopped and the local server with it; done in $((SECONDS - started)) s"
