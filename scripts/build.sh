#!/usr/bin/env bash
# Configures and builds sockchaos in build/ (Release-ish, with debug info). Debian's python3
# is used for the bindings whatever python3 comes first on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
cmake --build build -j"$(nproc)"
