#!/usr/bin/env bash
# One command to every test: installs dependencies, builds (unit tests, integration tests,
# microbenchmarks), then runs the whole suite with CTest. Needs ../shared/conformance.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh build
cd build
ctest --output-on-failure -j"$(nproc)" --timeout 600 "$@"
