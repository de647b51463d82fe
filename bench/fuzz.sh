#!/usr/bin/env bash
# Fuzzes every libFuzzer target of tests/fuzz/ (clang, ASan + UBSan + LeakSanitizer) and writes
# bench/FUZZ.md and the "fuzz" section of bench/RESULTS.md: executions, exec/s, libFuzzer's
# cov/ft, llvm-cov line coverage of the code each target exercises, crashes. Targets:
# fuzz_scenario (parser, validator, matrix), fuzz_results (the results reader and the
# renderers `report` runs), fuzz_events (agent event lines). Needs clang++, libclang-rt-14-dev (libFuzzer), and for the
# line coverage llvm-profdata/llvm-cov; no root. One core per target, niced.
#   bench/fuzz.sh [--quick] [--merge]
#     --quick   60 s per target instead of 30 min (a smoke run)
#     --merge   add the inputs that reach new coverage to tests/fuzz/corpus/<target>/
# Environment: FUZZ_RUNS (default 10000000) and FUZZ_SECONDS (default 1800) per target, the
# first reached ends it; FUZZ_PARALLEL (default 1) targets at once, one core each; FUZZ_FLAGS
# (extra libFuzzer flags, below); FUZZ_BUILD (build-fuzz), FUZZ_OUT (bench/FUZZ.md),
# FUZZ_COVERAGE=0 skips the line-coverage build.
# A crash stops its target: the reproducer is kept in $FUZZ_BUILD/fuzz-work/<target>/ and
# listed in FUZZ.md; fix it, copy it to tests/fuzz/regressions/<target>/ and run again.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
runs=${FUZZ_RUNS:-10000000}
seconds=${FUZZ_SECONDS:-1800}
merge=0
parallel=${FUZZ_PARALLEL:-1}
# libFuzzer flags: the Entropic schedule scaled by execution time (documented libFuzzer option):
# cheap inputs are picked more often than a 10,000-cell matrix. In 120 s runs: 2.5x the
# executions for scenario at the same coverage, 4.3x for results at 1-2 % less.
# FUZZ_FLAGS="" runs libFuzzer's defaults.
flags=${FUZZ_FLAGS--entropic_scale_per_exec_time=1}
# No allocation stacks while fuzzing (about 20 % of an execution went to recording them); a
# reproducer is run again with ASan's defaults, so every finding still gets its stacks.
fuzz_asan=${ASAN_OPTIONS:-malloc_context_size=0}
for a in "$@"; do
  case $a in
    --quick) seconds=60 ;;
    --merge) merge=1 ;;
    *) echo "usage: bench/fuzz.sh [--quick] [--merge]" >&2; exit 2 ;;
  esac
done
build=$root/${FUZZ_BUILD:-build-fuzz}
out=${FUZZ_OUT:-$root/bench/FUZZ.md}
fuzzdir=$root/tests/fuzz
log() { echo "[fuzz $(date +%T)] $*" >&2; }

cxx=$(command -v clang++ || command -v clang++-14 || true)
[ -n "$cxx" ] || { echo "bench/fuzz.sh needs clang++ (apt-get install clang libclang-rt-14-dev)" >&2; exit 3; }
profdata=$(command -v llvm-profdata || command -v llvm-profdata-14 || true)
llvmcov=$(command -v llvm-cov || command -v llvm-cov-14 || true)

# FUZZ_TARGETS="fuzz_results fuzz_events" limits the run to those targets.
targets=()
for src in "$fuzzdir"/fuzz_*.cpp; do
  t=$(basename "$src" .cpp)
  [ -z "${FUZZ_TARGETS:-}" ] || [[ " $FUZZ_TARGETS " == *" $t "* ]] || continue
  targets+=("$t")
done

configure() {  # dir, extra cmake args
  local dir=$1; shift
  cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$cxx" \
    -DSOCKCHAOS_FUZZ=ON -DSOCKCHAOS_TESTS=OFF -DSOCKCHAOS_PYTHON=OFF "$@" >"$dir/fuzz-configure.log" 2>&1 ||
    { cat "$dir/fuzz-configure.log" >&2; exit 1; }
}

log "building ${targets[*]} with $cxx in $build"
mkdir -p "$build"
t0=$(date +%s)
configure "$build"
nice cmake --build "$build" -j2 --target "${targets[@]}" >"$build/fuzz-build.log" 2>&1 || { tail -40 "$build/fuzz-build.log" >&2; exit 1; }
build_seconds=$(( $(date +%s) - t0 ))

# One target: fuzz it, then write its table row to $work/row and its findings to $work/findings.
fuzz_target() {
  local target=$1 name work seeds regressions max_len started rc elapsed execs eps rss added last cov ft
  local corpus_files crashes why f before
  name=${target#fuzz_}
  work=$build/fuzz-work/$target
  rm -rf "$work" && mkdir -p "$work/corpus" "$work/artifacts"
  seeds=$fuzzdir/corpus/$name
  regressions=$fuzzdir/regressions/$name
  mkdir -p "$seeds" "$regressions"
  cp -r "$seeds/." "$work/corpus/"
  local dict=()
  [ -f "$fuzzdir/$name.dict" ] && dict=(-dict="$fuzzdir/$name.dict")
  # Inputs up to the size of the seeds: scenarios are a few KiB, results files tens of KiB.
  case $name in results) max_len=65536 ;; events) max_len=4096 ;; *) max_len=8192 ;; esac
  log "$target: up to $runs executions or ${seconds}s (max_len $max_len)"
  started=$(date +%s)
  set +e
  # shellcheck disable=SC2086  # FUZZ_FLAGS is a list of libFuzzer flags
  ASAN_OPTIONS=$fuzz_asan nice "$build/fuzz/$target" -runs="$runs" -max_total_time="$seconds" -max_len="$max_len" \
    -timeout=60 -rss_limit_mb=2048 -print_final_stats=1 $flags -artifact_prefix="$work/artifacts/" "${dict[@]}" \
    "$work/corpus" "$regressions" >"$work/log" 2>&1
  rc=$?
  set -e
  elapsed=$(( $(date +%s) - started ))
  stat() { sed -n "s/^stat::$1: *//p" "$work/log" | tail -1; }
  execs=$(stat number_of_executed_units); eps=$(stat average_exec_per_sec)
  rss=$(stat peak_rss_mb); added=$(stat new_units_added)
  last=$(grep -E '^#[0-9]+.*cov: ' "$work/log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last"); ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corpus_files=$(find "$work/corpus" -type f | wc -l)
  crashes=$(find "$work/artifacts" -type f | wc -l)
  echo "| \`$target\` | $execs | $elapsed | $eps | $cov | $ft | $corpus_files | $added | $rss | $crashes (exit $rc) |" >"$work/row"
  : >"$work/findings"
  while IFS= read -r f; do
    [ -n "$f" ] || continue
    # The run keeps no allocation stacks (see fuzz_asan): the reproducer is run again with them.
    local rerun=0
    "$build/fuzz/$target" -timeout=60 -rss_limit_mb=2048 "$f" >"$f.log" 2>&1 || rerun=$?
    why=$(cat "$f.log" "$work/log" | grep -m1 -E '^fuzz_[a-z_]+: |ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' || true)
    # A timeout or slow unit whose rerun passes quickly was a stall of the machine or of the
    # process (suspended, starved), not of the target: said so, still listed.
    local again=""
    case $(basename "$f") in
      timeout-*|slow-unit-*)
        [ "$rerun" = 0 ] && again=" — did not reproduce: the rerun passed in $(sed -n 's/^Executed .* in \([0-9]*\) ms$/\1/p' "$f.log" | tail -1) ms" ;;
    esac
    echo "- \`$target\`: \`${f#$root/}\` — ${why:-see $work/log}$again (full report: \`${f#$root/}.log\`)" >>"$work/findings"
  done < <(find "$work/artifacts" -type f ! -name '*.log')
  if [ "$merge" = 1 ]; then
    before=$(find "$seeds" -type f | wc -l)
    nice "$build/fuzz/$target" -merge=1 -max_len="$max_len" "$seeds" "$work/corpus" >"$work/merge.log" 2>&1 || true
    log "$target: corpus $before -> $(find "$seeds" -type f | wc -l) files in ${seeds#$root/}"
  fi
  log "$target: $(cat "$work/row")"
}

# FUZZ_PARALLEL targets at a time, each on one core.
pids=()
for target in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || true; done
  fuzz_target "$target" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
rows=() findings=() covrows=()
for target in "${targets[@]}"; do
  work=$build/fuzz-work/$target
  [ -f "$work/row" ] || { echo "bench/fuzz.sh: $target wrote no result (see $work/log)" >&2; exit 1; }
  rows+=("$(cat "$work/row")")
  while IFS= read -r line; do findings+=("$line"); done <"$work/findings"
done

# Line coverage: the same targets built with -fprofile-instr-generate, replaying the corpus.
coverage_note="not measured (llvm-profdata/llvm-cov not found)"
if [ "${FUZZ_COVERAGE:-1}" = 0 ]; then
  coverage_note="not measured in this run (FUZZ_COVERAGE=0)"
elif [ -n "$profdata" ] && [ -n "$llvmcov" ]; then
  covbuild=$build-cov
  log "line coverage build in $covbuild"
  mkdir -p "$covbuild"
  configure "$covbuild" -DSOCKCHAOS_FUZZ_COVERAGE=ON
  nice cmake --build "$covbuild" -j2 --target "${targets[@]}" >"$covbuild/fuzz-build.log" 2>&1 || { tail -40 "$covbuild/fuzz-build.log" >&2; exit 1; }
  coverage_note="llvm-cov line coverage of the project's sources, replaying each target's final corpus and regressions (\`-runs=0\`)"
  for target in "${targets[@]}"; do
    name=${target#fuzz_}
    work=$build/fuzz-work/$target
    rm -f "$work"/*.profraw
    LLVM_PROFILE_FILE="$work/cov-%p.profraw" nice "$covbuild/fuzz/$target" -runs=0 -max_len=65536 \
      "$work/corpus" "$fuzzdir/regressions/$name" >"$work/cov.log" 2>&1 || true
    "$profdata" merge -sparse "$work"/*.profraw -o "$work/cov.profdata"
    "$llvmcov" report "$covbuild/fuzz/$target" -instr-profile="$work/cov.profdata" \
      -ignore-filename-regex='(/usr/|tests/)' >"$work/cov.txt" 2>/dev/null || true
    # Columns: Filename Regions Missed Cover Functions Missed Executed Lines Missed Cover ...
    while read -r file _ _ _ _ _ _ lines missed cover _; do
      [ -n "$file" ] || continue
      covrows+=("| \`$target\` | \`${file#$root/}\` | $lines | $((lines - missed)) | $cover |")
    done < <(awk 'NR > 2 && $1 !~ /^-/ && NF >= 10' "$work/cov.txt")
  done
fi

# A run of some targets (FUZZ_TARGETS) keeps the other targets' rows of the previous FUZZ.md,
# each marked with the run it comes from.
kept_rows=() kept_cov=()
if [ -f "$out" ]; then
  kept_from=$(sed -n 's/.*generated by bench\/fuzz.sh on \([^;]*\);.*/\1/p' "$out" | head -1)
  while IFS= read -r line; do
    t=$(sed -n 's/^| `\(fuzz_[a-z_]*\)`.*/\1/p' <<<"$line")
    [ -n "$t" ] || continue
    [[ " ${targets[*]} " == *" $t "* ]] && continue
    [[ "$line" == *"(run of "* ]] || line=${line/"| \`$t\` |"/"| \`$t\` (run of $kept_from) |"}
    if [ "$(tr -cd '|' <<<"$line" | wc -c)" -ge 11 ]; then kept_rows+=("$line"); else kept_cov+=("$line"); fi
  done <"$out"
fi
rows+=("${kept_rows[@]}")
covrows+=("${kept_cov[@]}")
all_targets=()
for src in "$fuzzdir"/fuzz_*.cpp; do all_targets+=("$(basename "$src" .cpp)"); done

{
  echo "## Fuzzing"
  echo
  echo "<!-- generated by bench/fuzz.sh on $(date -u +%Y-%m-%dT%H:%MZ); do not edit by hand -->"
  echo
  echo "$(uname -sr), $($cxx --version | head -1), one core per target (\`nice\`; $parallel target(s) at a time on"
  echo "$(nproc) cores), libFuzzer with AddressSanitizer, UndefinedBehaviorSanitizer (\`-fno-sanitize-recover\`)"
  echo "and LeakSanitizer; libFuzzer flags: \`${flags:-none}\`; \`ASAN_OPTIONS=$fuzz_asan\` (a reproducer is rerun with"
  echo "ASan's defaults for its stacks);"
  echo "\`-max_len\` 8192 (scenario), 65536 (results), 4096 (events); each target until $runs executions or ${seconds} s"
  echo "(${targets[*]} in this run; a row marked \"run of\" is kept from an earlier one). Seeds: \`tests/fuzz/corpus/<target>/\`"
  echo "(the shipped scenarios and the corpus kept from earlier runs) and \`tests/fuzz/regressions/<target>/\`."
  echo "Build: ${build_seconds} s."
  echo
  echo "| target | executions | seconds | exec/s | cov (edges) | ft (features) | corpus files | new units | peak RSS (MiB) | crashes |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Crashes, leaks, timeouts and contract violations found in this run:"
  echo
  if [ ${#findings[@]} -eq 0 ]; then echo "- none"; else printf '%s\n' "${findings[@]}"; fi
  echo
  echo "Fixed findings kept as regressions (replayed by \`sockchaos_unit_tests\`, FuzzCorpus.*):"
  echo
  for target in "${all_targets[@]}"; do
    # git keeps no empty folder: a fresh checkout may lack one, and find's failure must not end
    # the script (pipefail) halfway through writing FUZZ.md.
    n=0
    [ -d "$fuzzdir/regressions/${target#fuzz_}" ] && n=$(find "$fuzzdir/regressions/${target#fuzz_}" -type f | wc -l)
    echo "- \`$target\`: $n in \`tests/fuzz/regressions/${target#fuzz_}/\`"
  done
  echo
  echo "Line coverage: $coverage_note."
  if [ ${#covrows[@]} -gt 0 ]; then
    echo
    echo "| target | file | lines | covered | line coverage |"
    echo "|---|---|---|---|---|"
    printf '%s\n' "${covrows[@]}"
  fi
} >"$out"
"$here/results_section.sh" fuzz <"$out"
log "wrote ${out#$root/} and its section of bench/RESULTS.md"
