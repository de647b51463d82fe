#!/usr/bin/env bash
# The unit and integration tests built with AddressSanitizer + UndefinedBehaviorSanitizer
# (CMake option SOCKCHAOS_SANITIZE: -fsanitize=address,undefined -fno-sanitize-recover, so a
# UBSan report aborts the test that caused it) in build-asan/, with the CLI and the agent the
# integration tests run built the same way. Called by scripts/run-tests.sh (the test command);
# alone: scripts/sanitize-tests.sh [gtest filter]. Prints "sanitize: N passed, N failed, N
# skipped, R reports" last; exits 1 on a failed test or any sanitizer report.
#   - the unit tests run with LeakSanitizer on;
#   - the integration tests run with detect_leaks=0: the agent's exec wrapper runs users'
#     commands as PID 1 of a fresh PID namespace, where LeakSanitizer's tracer cannot attach
#     ("LeakSanitizer has encountered a fatal error") and turns every command's exit status into 1.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/gtest-counts.sh
dir=${SOCKCHAOS_SANITIZE_BUILD:-build-asan}
filter=${1:-*}
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
echo "== sanitize: building unit and integration tests with ASan + UBSan in $dir" >&2
t0=$(date +%s)
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DSOCKCHAOS_SANITIZE=ON \
  -DSOCKCHAOS_PYTHON=OFF -DSOCKCHAOS_STATIC_AGENT=OFF >"$log/configure.log" 2>&1 || { cat "$log/configure.log" >&2; exit 1; }
cmake --build "$dir" -j"$(nproc)" --target sockchaos_unit_tests sockchaos_integration_tests sockchaos sockchaos-agent \
  >"$log/build.log" 2>&1 || { tail -40 "$log/build.log" >&2; echo "sanitize: 0 passed, 1 failed, 0 skipped, 0 reports"; exit 1; }
echo "sanitize: built in $(( $(date +%s) - t0 )) s" >&2
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
passed=0 failed=0 skipped=0 reports=0 status=0
run_suite() {  # name binary asan_options
  local name=$1 bin=$2 xml="$log/$1.xml" out="$log/$1.out" rc=0 recovered=0
  echo "== sanitize: $name" >&2
  ASAN_OPTIONS=$3 "$bin" --gtest_output="xml:$xml" --gtest_brief=1 --gtest_filter="$filter" >"$out" 2>&1 || rc=1
  # A test whose own (timing) assertion failed under the sanitizers' slowdown runs once more,
  # alone; it counts as failed only if it fails again. Sanitizer reports are never retried.
  local failed_tests
  failed_tests=$(sed -n 's/^\[  FAILED  \] \([A-Za-z0-9_]*\.[A-Za-z0-9_]*\).*/\1/p' "$out" | sort -u | paste -sd: -)
  if [ "$rc" != 0 ] && [ -n "$failed_tests" ] && ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$out"; then
    grep -E -B1 -A8 ': Failure$' "$out" | head -120 >&2 || true
    echo "sanitize $name: retrying $failed_tests" >&2
    if ASAN_OPTIONS=$3 "$bin" --gtest_brief=1 --gtest_filter="$failed_tests" >"$out.retry" 2>&1; then
      echo "sanitize $name: passed on retry: $failed_tests" >&2
      sed -i 's/^\[  FAILED  \]/[  RETRIED ]/' "$out"
      recovered=$(tr ':' '\n' <<<"$failed_tests" | wc -l)
      rc=0
    fi
    cat "$out.retry" >>"$out"
  fi
  [ "$rc" = 0 ] || status=1
  local r
  r=$(grep -cE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$out" || true)
  if [ "$r" -gt 0 ]; then
    grep -E -A30 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$out" | head -80 >&2
    reports=$((reports + r)); status=1
  fi
  grep -E '^\[  FAILED  \]' "$out" >&2 || true
  if [ -f "$xml" ]; then
    gtest_counts "$xml"
    local t=$gt_total f=$((gt_failed - recovered)) s=$gt_skipped
    passed=$((passed + t - f - s)); failed=$((failed + f)); skipped=$((skipped + s))
    echo "sanitize $name: $((t - f - s)) passed, $f failed, $s skipped, $r sanitizer reports" >&2
  else
    tail -20 "$out" >&2
    failed=$((failed + 1)); status=1
  fi
}
run_suite unit "$dir/sockchaos_unit_tests" "detect_leaks=1:abort_on_error=0"
run_suite integration "$dir/sockchaos_integration_tests" "detect_leaks=0:abort_on_error=0"
echo "sanitize: $passed passed, $failed failed, $skipped skipped, $reports reports"
exit $status
