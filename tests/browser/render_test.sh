#!/usr/bin/env bash
# Browser test of the HTML report: render tests/browser/fixture_results.json, open it in
# headless Chromium and fail on any script error, alert, foreign request or missing part.
# The fixture is read like any results file (harness::load_results_file): it must be valid.
#
#   RENDER_FIXTURE=/path/to/render_fixture  (default: build/…/render_fixture, else built with CMake)
#   SCREENSHOT=/tmp/sockchaos-report.png     where the full-page screenshot goes
#   CHROMIUM=/usr/bin/chromium               browser binary (installed with apt if missing)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
screenshot="${SCREENSHOT:-/tmp/sockchaos-report.png}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [[ ! -x "$CHROMIUM" ]]; then
  echo "installing chromium (apt)" >&2
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
  else
    sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
  fi
fi

renderer="${RENDER_FIXTURE:-}"
if [[ -z "$renderer" ]]; then
  for candidate in "$root"/build*/render_fixture "$root"/build*/tests/browser/render_fixture; do
    if [[ -x "$candidate" ]]; then renderer="$candidate"; break; fi
  done
fi
if [[ -z "$renderer" ]]; then
  # reports/ reads the typed results (harness/verdict and what it links): build it with CMake
  echo "building render_fixture with cmake in $work/build" >&2
  cmake -S "$root" -B "$work/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSOCKCHAOS_PYTHON=OFF >/dev/null
  cmake --build "$work/build" -j2 --target sockchaos_render_fixture >/dev/null
  renderer="$work/build/render_fixture"
fi

"$renderer" "$here/fixture_results.json" "$work/report.html" "$work/junit.xml"
size=$(stat -c %s "$work/report.html")
echo "report: $size bytes"
if command -v xmllint >/dev/null; then xmllint --noout "$work/junit.xml"; fi

cd "$here"
if [[ ! -d node_modules/playwright-core ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node check_report.mjs "$work/report.html" "$screenshot"
