#!/usr/bin/env bash
# Sets up everything Revive needs on Debian 12 (run as root): system libraries, a venv in .venv
# with pinned packages, and the `revive` command at .venv/bin/revive. Safe to run again.
# With --tests it also installs what only the tests need: a Blender binary (Debian's), to
# check the `blender -b` path that studios use.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(
  ffmpeg python3-venv
  # Blender as a Python module (bpy) loads these X/GL libraries even headless.
  libgl1 libglx0 libx11-6 libxi6 libxrender1 libxkbcommon0 libsm6 libice6 libxext6 libxfixes3
  # Offscreen OpenGL for pyrender previews (Mesa EGL).
  libegl1 libegl-mesa0 libgl1-mesa-dri
)
if [ "${1:-}" = "--tests" ]; then
  apt_packages+=(blender python3-numpy)
  # A human voice with known words (CC-BY-SA 3.0) for `revive bench lipsync`.
  apt_packages+=(asterisk-core-sounds-en-wav)
fi
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade "pip>=23.2"
# torch first and exactly: an unpinned torch would pull a multi-GB CUDA build.
.venv/bin/python -m pip install -q "torch==2.13.0"
extras="test"
[ "${1:-}" = "--tests" ] && extras="test,bench"  # bench: evaluation-only extras
.venv/bin/python -m pip install -q -e ".[$extras]"
# bpy's wheel carries a cp39 tag that pip check misreads; anything else it reports is real.
problems=$(.venv/bin/python -m pip check 2>&1 | grep -v "^bpy 5.0.1 is not supported on this platform" || true)
[ -z "$problems" ] || { echo "$problems"; exit 1; }
echo "Revive is set up: .venv/bin/revive"
