#!/usr/bin/env bash
# A Debian trixie root file system with Debian's real JupyterLab 4.0 (`jupyterlab`, on jupyter_server 2),
# the `jupyter` command (`jupyter-core`, `jupyter-server`), ipykernel, pip, Node (trixie's `nodejs`), and
# pytest and openssl for the server half's tests, for the installed-wheel test (scripts/test-trixie.sh).
#
#   bash scripts/trixie-chroot.sh        # prints the chroot's path as its last line
#   bash scripts/trixie-chroot.sh --path # only prints where it is (or would be), builds nothing
#
# Built once with debootstrap (minbase) and apt-get from Debian's packages, then cached OUTSIDE the
# repository in $CANFAR_CHROOT_CACHE (default /var/cache/jupyterlab-canfar) as trixie-<key>, where <key>
# is a hash of the recipe below: changing the recipe builds a new one (and removes older ones). A build
# goes to a temporary folder that is renamed only once complete, so an interrupted build is never used.
# Needs root (debootstrap, chroot, mount). proc is mounted only while apt-get runs and always unmounted.
set -euo pipefail

CACHE=${CANFAR_CHROOT_CACHE:-/var/cache/jupyterlab-canfar}
SUITE=trixie
PACKAGES="jupyterlab jupyter-core jupyter-server python3-ipykernel python3-pip nodejs python3-pytest openssl"
# Everything that decides what the chroot holds; its hash names the cached folder.
RECIPE="recipe 4; debootstrap --variant=minbase $SUITE; dpkg force-unsafe-io; apt-get install --no-install-recommends $PACKAGES"
KEY=$(printf '%s' "$RECIPE" | sha256sum | cut -c1-12)
ROOT="$CACHE/$SUITE-$KEY"

log() { echo "trixie-chroot: $*" >&2; }
die() {
  log "$*"
  exit 1
}

if [ "${1:-}" = --path ]; then
  echo "$ROOT"
  exit 0
fi
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot and mount); run as root or under sudo."

# Mount points under $1, deepest first (from /proc/mounts; octal escapes such as \040 are kept).
mounts_under() { awk -v p="$1/" 'index($2 "/", p) == 1 { print $2 }' /proc/mounts | sort -r; }

# Removes a folder of ours, refusing if anything is mounted under it (rm through a mounted proc or a
# bind mount would reach the host's files).
remove_tree() {
  local dir="$1"
  [ -e "$dir" ] || return 0
  if [ -n "$(mounts_under "$dir")" ]; then
    die "not removing $dir: something is mounted under it ($(mounts_under "$dir" | tr '\n' ' ')); unmount it first."
  fi
  rm -rf --one-file-system "$dir"
}

mkdir -p "$CACHE"
# One builder at a time. A test run (test-trixie.sh) takes this lock itself for as long as it uses the
# chroot and says so with CANFAR_CHROOT_LOCK_HELD=1.
if [ "${CANFAR_CHROOT_LOCK_HELD:-}" != 1 ]; then
  exec 9>"$CACHE/$SUITE.lock"
  flock 9
fi

if [ -f "$ROOT/.complete" ]; then
  log "using the cached chroot $ROOT ($(cat "$ROOT/.complete"))"
  echo "$ROOT"
  exit 0
fi

for old in "$CACHE/$SUITE"-*; do
  [ "$old" != "$ROOT" ] || continue
  case "$old" in "$ROOT".*) continue ;; esac
  if [ -d "$old" ]; then
    start=$SECONDS
    remove_tree "$old"
    log "removed $old (an older recipe, or an unfinished build) in $((SECONDS - start)) s"
  else
    rm -f "$old" # an older recipe's logs
  fi
done

command -v debootstrap >/dev/null || {
  log "installing debootstrap (Debian package)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
}

partial="$ROOT.partial"
remove_tree "$partial"
rm -f "$CACHE/$SUITE-$KEY.apt.log"
total=$SECONDS
cleanup() {
  local m
  for m in $(mounts_under "$partial"); do umount "$m" || umount -l "$m"; done
}
trap cleanup EXIT
trap "exit 130" INT TERM

start=$SECONDS
log "debootstrap --variant=minbase $SUITE $partial"
debootstrap --variant=minbase "$SUITE" "$partial" >"$CACHE/$SUITE-$KEY.debootstrap.log" 2>&1 ||
  die "debootstrap failed; its log: $CACHE/$SUITE-$KEY.debootstrap.log"
log "debootstrap took $((SECONDS - start)) s"

start=$SECONDS
cp /etc/resolv.conf "$partial/etc/resolv.conf"
# A throwaway tree: dpkg need not fsync every file it unpacks (the build is redone if interrupted).
echo force-unsafe-io >"$partial/etc/dpkg/dpkg.cfg.d/canfar-unsafe-io"
mount -t proc proc "$partial/proc"
log "apt-get install $PACKAGES"
in_partial() {
  chroot "$partial" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive \
    sh -c "$1" >>"$CACHE/$SUITE-$KEY.apt.log" 2>&1 || die "apt-get in the chroot failed; its log: $CACHE/$SUITE-$KEY.apt.log"
}
in_partial "apt-get update -q && apt-get install -y -q --download-only --no-install-recommends $PACKAGES"
log "packages downloaded in $((SECONDS - start)) s"
start=$SECONDS
in_partial "apt-get install -y -q --no-install-recommends $PACKAGES && apt-get clean"
umount "$partial/proc"
log "packages installed in $((SECONDS - start)) s"

versions=$(chroot "$partial" /usr/bin/env -i PATH=/usr/bin:/bin sh -c \
  'printf "jupyterlab %s, jupyter_server %s, node %s" "$(python3 -c "import jupyterlab; print(jupyterlab.__version__)")" \
   "$(python3 -c "import jupyter_server; print(jupyter_server.__version__)")" "$(node --version)"')
echo "$versions; built $(date -u +%FT%TZ) in $((SECONDS - total)) s" >"$partial/.complete"
mv "$partial" "$ROOT"
trap - EXIT
log "built $ROOT in $((SECONDS - total)) s: $versions"
echo "$ROOT"
