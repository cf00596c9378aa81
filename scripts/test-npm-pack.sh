#!/usr/bin/env bash
# The npm package as a Node or JS-kernel user gets it: `npm pack`, then `npm install <tarball>` into an
# empty folder outside the checkout, and from there:
#   - the tarball holds no tests, specs, fixtures, examples, benchmarks, Python or wheel (file list), size printed;
#   - `npx canfar-lab --version`, and `npx canfar-lab local` starts, answers /context (over HTTP and to
#     `canfar-lab context`), and stops;
#   - `require` and `import` of jupyterlab-canfar/node (and /distributed) work in plain Node;
#   - the notebooks of examples/kernels run in real Deno and tslab kernels (scripts/test-kernels.sh, its
#     kernel setup) loading the package from that folder's node_modules.
#   bash scripts/test-npm-pack.sh [--no-kernels]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
log() { echo "test-npm-pack: $*" >&2; }
fail() {
  log "FAILED: $*"
  exit 1
}
started=$SECONDS
step_start=$SECONDS
step() {
  log "$1 took $((SECONDS - step_start)) s"
  step_start=$SECONDS
}
version=$(node -p "require('./package.json').version")
if [ ! -f lib/lab/index.js ] || [ ! -f dist/node/index.cjs ] || [ ! -f dist/node/cli.cjs ]; then
  npm run --silent build >&2
  step "build (lib/ and dist/ were missing)"
fi

tmp=$(mktemp -d /tmp/canfar-npm-test.XXXXXX)
local_pid=""
cleanup() {
  if [ -n "$local_pid" ] && kill -0 "$local_pid" 2>/dev/null; then kill -TERM "$local_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

npm pack --silent --pack-destination "$tmp" --json >"$tmp/pack.json"
tarball=$(node -p "require('$tmp/pack.json')[0].filename")
node - "$tmp/pack.json" <<'JS' || fail "the tarball's file list is wrong (above)"
const [info] = require(process.argv[2]);
const kb = (n) => `${(n / 1024).toFixed(0)} KB`;
const paths = info.files.map((f) => f.path);
const unwanted = paths.filter((p) =>
  /(^|\/)(tests?|ui-tests|__tests__|fixtures?|examples|bench|docs|jupyterlab_canfar|python)\//.test(p) ||
  /\.(spec|test)\.[cm]?[jt]s(\.map)?$|\.spec\.d\.ts$|\.test\.d\.ts$|\.whl$|\.py$|\.ipynb$/.test(p) ||
  /^dist\/(bundle|wheel)\//.test(p),
);
const required = ['package.json', 'README.md', 'bin/canfar-lab.js', 'dist/node/cli.cjs', 'dist/node/index.cjs',
  'dist/node/index.mjs', 'dist/node/index.d.ts', 'dist/distributed/index.cjs', 'lib/lab/index.js', 'style/index.css',
  'schema/plugin.json'];
const missing = required.filter((p) => !paths.includes(p));
console.error(`test-npm-pack: ${info.filename}: ${info.entryCount} files, ${kb(info.size)} packed, ${kb(info.unpackedSize)} unpacked`);
if (unwanted.length || missing.length) {
  console.error(`  unwanted: ${unwanted.join(', ') || '-'}\n  missing: ${missing.join(', ') || '-'}`);
  process.exit(1);
}
JS
step "npm pack"

project="$tmp/project"
mkdir -p "$project"
echo '{ "name": "canfar-npm-user", "private": true }' >"$project/package.json"
(cd "$project" && npm install --no-audit --no-fund --loglevel=error "$tmp/$tarball" >&2)
log "installed into an empty folder: $(find "$project/node_modules" -name package.json -path '*/node_modules/*/package.json' -not -path '*/node_modules/*/node_modules/*/*' | wc -l) packages, $(du -sh "$project/node_modules" | cut -f1)"
step "npm install <tarball>"

cd "$project"
# --no-install: the CLI must come from the installed tarball, never be fetched.
found=$(npx --no-install canfar-lab --version)
[ "$found" = "$version" ] || fail "npx canfar-lab --version printed '$found', not $version"
log "npx canfar-lab --version: $found"

npx --no-install canfar-lab local --json --port 0 --state "$tmp/state" >"$tmp/local.out" 2>"$tmp/local.err" &
npx_pid=$!
for _ in $(seq 150); do [ -s "$tmp/local.out" ] && break; kill -0 "$npx_pid" 2>/dev/null || break; sleep 0.2; done
[ -s "$tmp/local.out" ] || {
  cat "$tmp/local.err" >&2
  fail "npx canfar-lab local printed nothing within 30 s"
}
local_pid=$(node -p "JSON.parse(require('fs').readFileSync('$tmp/local.out','utf8').split('\n')[0]).pid")
api=$(node -p "JSON.parse(require('fs').readFileSync('$tmp/local.out','utf8').split('\n')[0]).apiUrl")
token=$(cat "$(node -p "JSON.parse(require('fs').readFileSync('$tmp/local.out','utf8').split('\n')[0]).tokenFile")")
code=$(curl -s -o "$tmp/context.json" -w '%{http_code}' -H "Authorization: Bearer $token" "$api/context")
[ "$code" = 200 ] && node -e "const c=require('$tmp/context.json'); if (!c.cores) process.exit(1)" ||
  fail "GET $api/context answered $code: $(head -c 300 "$tmp/context.json")"
CANFAR_URL="$api" CANFAR_TOKEN="$token" npx --no-install canfar-lab --json context >"$tmp/cli-context.json" ||
  fail "canfar-lab context against the local server failed"
kill -TERM "$local_pid"
for _ in $(seq 50); do kill -0 "$local_pid" 2>/dev/null || break; sleep 0.2; done
kill -0 "$local_pid" 2>/dev/null && fail "canfar-lab local (pid $local_pid) did not stop within 10 s of SIGTERM"
local_pid=""
wait "$npx_pid" 2>/dev/null || true
log "npx canfar-lab local: listened at $api, answered /context (HTTP and canfar-lab context), stopped on SIGTERM"
step "the CLI from the tarball"

node -e "
const m = require('jupyterlab-canfar/node');
const d = require('jupyterlab-canfar/distributed');
for (const name of ['canfar', 'chunk', 'submit', 'sessions']) if (typeof m[name] !== 'function') throw new Error('require: no ' + name);
if (d.chunk([1, 2, 3, 4], 2, 2).join() !== '3,4') throw new Error('require: chunk');
" || fail "require('jupyterlab-canfar/node') failed"
node --input-type=module -e "
const m = await import('jupyterlab-canfar/node');
const { chunk } = await import('jupyterlab-canfar/distributed');
for (const name of ['canfar', 'chunk', 'submit', 'sessions']) if (typeof m[name] !== 'function') throw new Error('import: no ' + name);
if (chunk([1, 2, 3, 4], 1, 2).join() !== '1,2') throw new Error('import: chunk');
" || fail "import('jupyterlab-canfar/node') failed"
log "require() and import of jupyterlab-canfar/node and /distributed work"
step "require and import"
cd "$repo"

if [ "${1:-}" != --no-kernels ]; then
  CANFAR_KERNELS_PACKAGE_ROOT="$project" bash scripts/test-kernels.sh >&2 ||
    fail "the kernels could not use the installed package"
  step "Deno and tslab kernels on the installed package (scripts/test-kernels.sh)"
fi
log "done in $((SECONDS - started)) s"
