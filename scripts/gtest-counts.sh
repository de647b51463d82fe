# Sourced by run-tests.sh and sanitize-tests.sh: the counts of a GoogleTest XML report.
#   gtest_counts FILE  ->  sets gt_total, gt_failed, gt_skipped
gtest_counts() {
  gt_total=$(grep -o 'tests="[0-9]*"' "$1" | head -1 | tr -dc 0-9)
  gt_failed=$(grep -o 'failures="[0-9]*"' "$1" | head -1 | tr -dc 0-9)
  gt_skipped=$(grep -c '<skipped' "$1" || true)
}
