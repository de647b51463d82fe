#!/usr/bin/env bash
# Runs every suite of an already built tree and prints one closing line:
#   "tests: N passed, N failed, N skipped"
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/gtest-counts.sh
passed=0 failed=0 skipped=0 status=0
log=$(mktemp -d)

gtest_suite() {  # name binary
  local name=$1 bin=$2 xml="$log/$1.xml"
  echo "== $name" >&2
  "$bin" --gtest_output="xml:$xml" --gtest_brief=1 || status=1
  if [ -f "$xml" ]; then
    gtest_counts "$xml"
    local t=$gt_total f=$gt_failed s=$gt_skipped
    passed=$((passed + t - f - s)); failed=$((failed + f)); skipped=$((skipped + s))
    echo "$name: $((t - f - s)) passed, $f failed, $s skipped" >&2
  else
    failed=$((failed + 1))
  fi
}

gtest_suite unit build/sockchaos_unit_tests
gtest_suite integration build/sockchaos_integration_tests

if [ -d tests/python ] && [ -f build/python/sockchaos/__init__.py ]; then
  echo "== python" >&2
  out="$log/pytest.txt"
  PYTHONPATH=build/python /usr/bin/python3 -m pytest -q tests/python -p sockchaos.pytest_plugin 2>&1 | tee "$out" >&2
  rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || [ "$rc" = 5 ] || status=1
  line=$(grep -E '[0-9]+ (passed|failed)' "$out" | tail -1)
  p=$(echo "$line" | grep -oE '[0-9]+ passed' | tr -dc 0-9); f=$(echo "$line" | grep -oE '[0-9]+ failed' | tr -dc 0-9)
  s=$(echo "$line" | grep -oE '[0-9]+ skipped' | tr -dc 0-9)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))
fi

if [ -x tests/browser/render_test.sh ]; then
  echo "== browser" >&2
  if RENDER_FIXTURE=build/render_fixture SCREENSHOT=reports/out/report-screenshot.png tests/browser/render_test.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi
fi

echo "== shipped scenarios" >&2
if [ "$(id -u)" = 0 ]; then
  if build/sockchaos run scenarios/ -o "$log/scenarios" --junit "$log/scenarios-junit.xml" >&2; then
    passed=$((passed + 1))
    echo "== results keys: every key of the contract's shipped run is still there" >&2
    if /usr/bin/python3 tests/results_keys.py check tests/data/results-keys-776f64a.json "$log/scenarios/results.json" >&2; then
      passed=$((passed + 1))
    else
      failed=$((failed + 1)); status=1
    fi
    echo "== evidence: every run carries model, mechanism_basis, tcp_info and a tshark-readable capture" >&2
    if /usr/bin/python3 tests/check_evidence.py "$log/scenarios/results.json" >&2; then
      passed=$((passed + 1))
    else
      failed=$((failed + 1)); status=1
    fi
    echo "== findings (scripts/findings.py)" >&2
    /usr/bin/python3 scripts/findings.py "$log/scenarios/results.json" >&2 || true
  else
    failed=$((failed + 1)); status=1
  fi
  # The real report of that run, in the browser: every part its results call for is there.
  if [ -d tests/browser/node_modules/playwright-core ] && [ -f "$log/scenarios/report.html" ]; then
    echo "== browser: report of the shipped scenarios" >&2
    if (cd tests/browser && node check_report.mjs "$log/scenarios/report.html" "$log/scenarios-report.png" \
          "$log/scenarios/results.json") >&2; then
      passed=$((passed + 1))
    else
      failed=$((failed + 1)); status=1
    fi
  fi
else
  echo "shipped scenarios skipped: need root" >&2; skipped=$((skipped + 1))
fi

# The unit and integration tests again, built with ASan + UBSan (scripts/sanitize-tests.sh);
# SOCKCHAOS_SKIP_SANITIZE=1 leaves them out (a quick local run).
if [ "${SOCKCHAOS_SKIP_SANITIZE:-0}" != 1 ]; then
  line=$(scripts/sanitize-tests.sh | tail -1)
  echo "$line" >&2
  p=$(echo "$line" | grep -oE '[0-9]+ passed' | tr -dc 0-9); f=$(echo "$line" | grep -oE '[0-9]+ failed' | tr -dc 0-9)
  s=$(echo "$line" | grep -oE '[0-9]+ skipped' | tr -dc 0-9); r=$(echo "$line" | grep -oE '[0-9]+ reports' | tr -dc 0-9)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1})); skipped=$((skipped + ${s:-0}))
  if [ "${f:-1}" != 0 ] || [ "${r:-1}" != 0 ]; then status=1; fi
  [ "${r:-0}" != 0 ] && failed=$((failed + 1))
fi

echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] || status=1
exit $status
