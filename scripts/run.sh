#!/usr/bin/env bash
# One command to a running server: installs dependencies, builds, and starts Switchboard on
# its embedded defaults (MQTT 127.0.0.1:1883, HTTP 127.0.0.1:8080, anonymous local mode).
# Extra arguments go to the server, e.g. scripts/run.sh --shards 2 --http 127.0.0.1:0
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh build switchboard
exec ./build/switchboard "$@"
