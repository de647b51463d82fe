#!/usr/bin/env bash
# The main job: install what is missing, build, run every shipped scenario, write
# reports/out/{results.json,report.html,junit.xml}. Exit code is sockchaos's (0 all
# expectations held, 1 one failed, 2 bad input, 3 environment). Extra arguments go to
# `sockchaos run` (e.g. -j 8, --filter probe).
set -euo pipefail
cd "$(dirname "$0")"
scripts/deps.sh build
scripts/build.sh
exec build/sockchaos run scenarios/ -o reports/out "$@"
