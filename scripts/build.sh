#!/usr/bin/env bash
# Installs what is missing (Debian packages), then configures and builds Switchboard.
# Usage: scripts/build.sh [BUILD_DIR [TARGET...]]   (default: build, every target; extra
# CMake arguments in $CMAKE_ARGS)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}
shift || true
targets=()
for t in "$@"; do targets+=(--target "$t"); done
scripts/install-deps.sh
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/switchboard-ccache}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build_dir" -j"$(nproc)" "${targets[@]}"
