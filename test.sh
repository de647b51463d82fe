#!/usr/bin/env bash
# Every test: unit (no root), integration (root; they skip with a reason otherwise),
# Python bindings under pytest, the report in headless Chromium, and the shipped scenarios.
set -uo pipefail
cd "$(dirname "$0")"
scripts/deps.sh test || exit $?
scripts/build.sh || exit 1
exec scripts/run-tests.sh
