#!/usr/bin/env bash
# Installs the Debian packages the project needs (Jupyter server, the Python kernel, Chromium, the
# notebooks used as conversion fixtures, what the notebooks of test/fixtures/corpus import: numpy, scipy,
# matplotlib, pygments; hatchling and build for the wheel, venv for its test, debootstrap for the Debian
# trixie stage), once: packages already present are not reinstalled.
set -euo pipefail
packages=(
  python3-jupyter-server python3-jupyterlab-server python3-ipykernel python3-nbconvert python3-nbformat python3-matplotlib python3-numpy python3-scipy python3-pygments
  jupyter-nbconvert python3-pytest python3-yaml openssl libzmq3-dev chromium fonts-liberation python-nbsphinx-doc python-notebook-doc
  python3-hatchling python3-build python3-venv debootstrap
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing Debian packages: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "Need root (or sudo) to apt-get install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
