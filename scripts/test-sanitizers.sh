#!/usr/bin/env bash
# Builds the server with AddressSanitizer + UndefinedBehaviorSanitizer (clang) and runs the
# integration suite against it: any memory error, UB or leak at exit fails the run (the test
# fixtures assert a clean exit code).
set -euo pipefail
cd "$(dirname "$0")/.."
SWITCHBOARD_FUZZ=1 scripts/install-deps.sh
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/switchboard-ccache}
CXX=clang++ cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSWITCHBOARD_TESTS=OFF -DSWITCHBOARD_BENCHMARKS=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build build-asan -j"$(nproc)" --target switchboard
cd tests/integration
SWITCHBOARD_BIN=$PWD/../../build-asan/switchboard ASAN_OPTIONS=detect_leaks=1 \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider $(ls test_*.py | grep -v -e bench_honesty -e sbctl -e perf_tools)
