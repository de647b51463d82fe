#!/usr/bin/env bash
# sockchaos benchmarks against what users would otherwise do, measured side by side in one
# run, written to bench/RESULTS.md. Root; Debian 12; installs its missing Debian packages.
#   bench/run.sh [--quick] [--keep] [--only capture|links] [--build DIR]
#     --quick         fewer iterations (a smoke run; the numbers are noisier)
#     --keep          keep the raw data directory (printed at the end)
#     --only capture  only section 8 (packet capture on vs off); the rest of RESULTS.md stays
#     --only links    only the link emulator's accuracy and cost (sockchaos-linkbench, the
#                     "links" section); the rest of RESULTS.md stays
#     --build DIR     use (and update) this CMake build directory instead of build-bench/; it is
#                     configured with SOCKCHAOS_BENCH=ON and keeps its other settings
#                     (SOCKCHAOS_BENCH_BUILD=DIR does the same)
# Measurements, not tests: nothing here fails on a missed target; RESULTS.md says by how much.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
quick=0 keep=0 only="" build="${SOCKCHAOS_BENCH_BUILD:-}"
usage() { echo "usage: bench/run.sh [--quick] [--keep] [--only capture|links] [--build DIR]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --keep) keep=1 ;;
    --only) shift; case ${1:-} in capture | links) only=$1 ;; *) usage ;; esac ;;
    --build) build=$(cd "${2:?--build needs a directory}" && pwd); shift ;;
    *) usage ;;
  esac
  shift
done
if [ "$(id -u)" != 0 ]; then
  echo "bench/run.sh needs root (namespaces, veth, nftables, tracefs): sudo bench/run.sh" >&2
  exit 3
fi

log() { echo "[bench $(date +%T)] $*" >&2; }

# ---- packages -------------------------------------------------------------------------------
"$root/scripts/deps.sh" build
want=(mininet bridge-utils nftables iproute2 gcc)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; }
fi

# ---- build ----------------------------------------------------------------------------------
if [ -n "$build" ]; then
  log "building the bench targets in $build"
  cmake -S "$root" -B "$build" -DSOCKCHAOS_BENCH=ON >/dev/null
else
  build=$root/build-bench
  log "building sockchaos (RelWithDebInfo) in $build"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSOCKCHAOS_PYTHON=OFF -DSOCKCHAOS_TESTS=OFF \
    -DSOCKCHAOS_BENCH=ON >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target sockchaos sockchaos-agent sockchaos-netbench sockchaos-bare-probe sockchaos-exec-floor \
  sockchaos-capturebench sockchaos-linkbench >/dev/null
cli=$build/sockchaos
capturebench=$build/bench/sockchaos-capturebench
linkbench=$build/bench/sockchaos-linkbench
agent=$build/sockchaos-agent
netbench=$build/bench/sockchaos-netbench
bare=$build/bench/sockchaos-bare-probe
exec_floor=$build/bench/sockchaos-exec-floor

# ---- scratch space and cleanup ---------------------------------------------------------------
work=$(mktemp -d /tmp/sockchaos-bench.XXXXXX)
tracefs=/sys/kernel/tracing
mounted_tracefs=0
instance=""
sys_instance=""
sampler=""
cli_pid=""
cleanup() {
  set +e
  [ -n "$cli_pid" ] && kill -TERM "$cli_pid" 2>/dev/null && wait "$cli_pid" 2>/dev/null
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
  for i in "$instance" "$sys_instance"; do
    if [ -n "$i" ] && [ -d "$i" ]; then
      echo 0 >"$i/tracing_on"
      echo 0 >"$i/events/enable"
      echo >"$i/set_event_pid"
      rmdir "$i"
    fi
  done
  [ "$mounted_tracefs" = 1 ] && umount "$tracefs"
  # The baselines' own named namespaces (bench scripts delete them themselves; belt and braces).
  for ns in $(ip netns list 2>/dev/null | awk '/^scbench-/{print $1}'); do ip netns del "$ns"; done
  if [ "$keep" = 1 ]; then echo "raw data kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$quick" = 1 ]; then
  rounds=2 setup_n=10 script_n=4 mn_n=2 trivial_n=10 probe_n=3000 uto_reps=1 wait_long=4s phase_n=10 order_n=15000
else
  rounds=3 setup_n=20 script_n=8 mn_n=4 trivial_n=80 probe_n=10000 uto_reps=3 wait_long=8s phase_n=40 order_n=15000
fi

# ---- machine --------------------------------------------------------------------------------
{
  echo "{"
  echo "\"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
  echo "\"kernel\": \"$(uname -r)\","
  echo "\"cpu\": \"$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo | sed 's/"//g')\","
  echo "\"cores\": $(nproc),"
  echo "\"mem_mb\": $(awk '/MemTotal/{print int($2/1024)}' /proc/meminfo),"
  echo "\"load_before\": \"$(cut -d' ' -f1-3 /proc/loadavg)\","
  echo "\"debian\": \"$(cat /etc/debian_version)\","
  echo "\"sockchaos\": \"$("$cli" --version 2>/dev/null | head -1)\","
  echo "\"commit\": \"$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD -- . ':(exclude)bench/RESULTS.md' 2>/dev/null || echo +dirty)\","
  echo "\"mininet\": \"$(dpkg-query -W -f='${Version}' mininet 2>/dev/null)\","
  echo "\"tcp_ehash_entries\": $(cat /proc/sys/net/ipv4/tcp_ehash_entries 2>/dev/null || echo 0),"
  echo "\"quick\": $quick"
  echo "}"
} >"$work/machine.json"

# Cells of one matrix need distinct ids, nothing else: each cell has its own namespaces, so
# they all share the port. The axis is `deadline` (N distinct values, "60s", "61s", ...),
# which only counts after a fault, and these cells have none.
deadlines() {  # deadlines COUNT -> JSON list
  local count=$1 out="" i
  for ((i = 0; i < count; i++)); do out+="${out:+, }\"$((60 + i))s\""; done
  echo "[$out]"
}

run_cli() {  # out_dir args... ; wall time in seconds to out_dir/wall
  local out=$1
  shift
  local t0 t1 rc=0
  t0=$(date +%s%N)
  "$cli" run -o "$out" "$@" >"$out.stdout" 2>"$out.stderr" || rc=$?
  t1=$(date +%s%N)
  echo "{\"wall_s\": $(((t1 - t0) / 1000))e-6, \"rc\": $rc}" >"$out.wall.json"
}

# ---- 8. packet capture on vs off (defined here, run at the end or alone with --only capture) ---
# The same cells with "capture": true and "capture": false, in alternating rounds (the order
# alternating too), through the CLI a user runs: the per-cell cost of a trivial cell (serial),
# the flat-out probe rate (one cell, linger 0s: SYN, SYN-ACK, ACK, RST per probe, all captured
# on both hosts), and the orchestrator's peak RSS with 16 cells capturing at once.
capture_section() {
  local cs=$work/capture-scenarios r mode order flag
  for mode in on off; do
    flag=true
    [ "$mode" = off ] && flag=false
    mkdir -p "$cs/trivial-$mode" "$cs/probe-$mode" "$cs/par-$mode"
    cat >"$cs/trivial-$mode/trivial.json" <<EOF
{ "name": "bench-capture-trivial-$mode", "description": "one probe, no fault, capture $mode",
  "capture": $flag,
  "server": { "on": "server", "port": 47000, "behavior": "echo" },
  "client": { "on": "client", "connect": "server:47000",
              "workload": { "kind": "probe", "count": 1, "rate": "max" } },
  "matrix": { "/deadline": $(deadlines "$trivial_n") } }
EOF
    cat >"$cs/probe-$mode/probe.json" <<EOF
{ "name": "bench-capture-probe-$mode", "description": "flat-out probes, RST on close, capture $mode",
  "capture": $flag,
  "server": { "on": "server", "port": 49000, "behavior": "echo" },
  "client": { "on": "client", "connect": "server:49000",
              "workload": { "kind": "probe", "count": $probe_n, "rate": "max" },
              "socket": { "linger": "0s" } },
  "deadline": "120s" }
EOF
    cat >"$cs/par-$mode/par.json" <<EOF
{ "name": "bench-capture-par-$mode", "description": "16 cells of 100 probes at once, capture $mode",
  "capture": $flag,
  "server": { "on": "server", "port": 47000, "behavior": "echo" },
  "client": { "on": "client", "connect": "server:47000",
              "workload": { "kind": "probe", "count": 100, "rate": "max" } },
  "matrix": { "/deadline": $(deadlines 16) } }
EOF
  done
  "$cli" validate "$cs"/*/ >/dev/null
  log "capture on vs off: trivial cells ($rounds x $trivial_n each), probe rate ($rounds x $probe_n), RSS (16 cells)"
  for ((r = 0; r < rounds; r++)); do
    order="off on"
    [ $((r % 2)) = 1 ] && order="on off"
    for mode in $order; do run_cli "$work/cap-trivial-$mode-$r" -j 1 "$cs/trivial-$mode"; done
    for mode in $order; do run_cli "$work/cap-probe-$mode-$r" -j 1 "$cs/probe-$mode"; done
    for mode in $order; do
      /usr/bin/time -f '{"max_rss_kib": %M}' -o "$work/cap-par-$mode-$r.rss.json" \
        "$cli" run -o "$work/cap-par-$mode-$r" -j 16 "$cs/par-$mode" >/dev/null 2>&1 || true
    done
  done
  if [ -x "$capturebench" ]; then
    log "capture microbenchmark (bench/capture_bench.cpp)"
    "$capturebench" --iterations $((quick ? 50 : 200)) --rounds $((quick ? 2 : 4)) >"$work/capturebench.md" \
      2>"$work/capturebench.err" || log "capturebench failed (see RESULTS.md)"
  fi
  echo "{\"trivial_n\": $trivial_n, \"probe_n\": $probe_n, \"rounds\": $rounds, \"quick\": $quick," \
    "\"commit\": \"$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)\"," \
    "\"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\", \"load\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}" \
    >"$work/capture-params.json"
}

# ---- links: the built-in link emulator against an independent clock (issue 12) --------------
# sockchaos-linkbench's table (one-way delay, jitter, loss, Gilbert-Elliott, rate, forwarder
# throughput and CPU, set-up cost) into the "links" section of RESULTS.md.
links_section() {
  local args=()
  [ "$quick" = 1 ] && args+=(--quick)
  log "link emulator accuracy and cost (sockchaos-linkbench ${args[*]})"
  "$linkbench" "${args[@]}" --markdown "$work/links.md" >"$work/links.jsonl" 2>"$work/links.stderr" ||
    { log "linkbench failed:"; tail -5 "$work/links.stderr" >&2; return 0; }
  {
    echo "## Link emulator: accuracy and cost (issue 12)"
    echo
    echo "<!-- generated by bench/run.sh (sockchaos-linkbench) on $(date -u +%Y-%m-%dT%H:%MZ), commit" \
      "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown); do not edit by hand -->"
    echo
    echo "$(uname -sr), $(nproc) cores, load before: $(sed -n 's/.*"load_average": *"\([^"]*\)".*/\1/p' "$work/links.jsonl" | head -1)$([ "$quick" = 1 ] && echo ", --quick")."
    echo "The built-in emulator (this kernel has no sch_netem). Oracle: the sender stamps CLOCK_MONOTONIC"
    echo "into each UDP datagram just before sendto(), the receiver's kernel stamps its arrival"
    echo "(SO_TIMESTAMPNS); sequence numbers give loss, bursts and order; the receiving namespace's"
    echo "/proc/net/snmp shows it dropped nothing itself. netem's own path is not measured here (no module)."
    echo
    cat "$work/links.md"
  } | "$here/results_section.sh" links
}

if [ "$only" = links ]; then
  links_section
  log "wrote the links section of $here/RESULTS.md"
  exit 0
fi

if [ "$only" = capture ]; then
  capture_section
  /usr/bin/python3 "$here/capture_report.py" "$work" "$here/RESULTS.md"
  log "wrote section 8 of $here/RESULTS.md"
  exit 0
fi

# ---- 1. topology set-up + tear-down: sockchaos (libnl) vs ip/nft script vs Mininet -------------
# Interleaved rounds, so a load spike from elsewhere on the machine hits all three alike.
log "topology set-up + tear-down ($rounds rounds)"
for ((r = 0; r < rounds; r++)); do
  "$netbench" setup "$setup_n" >>"$work/setup_sockchaos.jsonl"
  "$here/baseline_topology.sh" "$script_n" >>"$work/setup_script.jsonl"
  if ! /usr/bin/python3 "$here/mininet_topo.py" "$mn_n" >>"$work/setup_mininet.jsonl" 2>>"$work/mininet.err"; then
    log "Mininet failed (see RESULTS.md)"
  fi
done
# Mininet's stock two-host topology (minimal: h1 - s1 - h2) with its Linux-bridge switch; its
# default Open vSwitch switch needs the kernel's openvswitch datapath and the OVS daemons.
if ! zcat /proc/config.gz 2>/dev/null | grep -q '^CONFIG_OPENVSWITCH=' && [ -r /proc/config.gz ]; then
  echo "this kernel has no Open vSwitch datapath (CONFIG_OPENVSWITCH is not set), so Mininet's default OVS switch cannot run here" >"$work/mininet_ovs.skipped"
elif ! ovs-vsctl --timeout=2 show >/dev/null 2>&1; then
  echo "ovs-vswitchd is not running" >"$work/mininet_ovs.skipped"
fi
for ((r = 0; r < rounds; r++)); do
  /usr/bin/python3 "$here/mininet_topo.py" "$mn_n" --lxbr >>"$work/setup_mininet_lxbr.jsonl" 2>>"$work/mininet.err" ||
    log "Mininet (lxbr) failed (see RESULTS.md)"
done

# ---- scenario files (temporary, never in scenarios/) ------------------------------------------
sc=$work/scenarios
mkdir -p "$sc/trivial" "$sc/wait2" "$sc/waitlong" "$sc/waitlong-1s" "$sc/probe" "$sc/probe-plain" "$sc/uto"
cat >"$sc/trivial/trivial.json" <<EOF
{ "name": "bench-trivial", "description": "one probe, no fault",
  "server": { "on": "server", "port": 47000, "behavior": "echo" },
  "client": { "on": "client", "connect": "server:47000",
              "workload": { "kind": "probe", "count": 1, "rate": "max" } },
  "matrix": { "/deadline": $(deadlines "$trivial_n") } }
EOF
# A cell that waits ~2 s on a kernel timer: a blocking recv with SO_RCVTIMEO 2 s (EAGAIN).
wait_cell() {  # name rcvtimeo count
  cat <<EOF
{ "name": "$1", "description": "64 cells, each blocked in recv until SO_RCVTIMEO fires",
  "server": { "on": "server", "port": 48000, "behavior": "sink" },
  "client": { "on": "client", "connect": "server:48000", "workload": { "kind": "idle" },
              "socket": { "rcvtimeo": "$2" } },
  "matrix": { "/deadline": $(deadlines "$3") } }
EOF
}
wait_cell bench-wait-2s 2s 64 >"$sc/wait2/wait.json"
wait_cell bench-wait-long "$wait_long" 64 >"$sc/waitlong/wait.json"
cat >"$sc/probe/probe.json" <<EOF
{ "name": "bench-probe", "description": "probe workload, RST on close",
  "server": { "on": "server", "port": 49000, "behavior": "echo" },
  "client": { "on": "client", "connect": "server:49000",
              "workload": { "kind": "probe", "count": $probe_n, "rate": "max" },
              "socket": { "linger": "0s" } },
  "deadline": "120s" }
EOF
# The same cell on plain veths (no receive flow steering, which every namespace gets by
# default to keep each flow in order): what the steering costs a single flat-out flow.
sed 's/"name": "bench-probe",/"name": "bench-probe-plain", "hosts": { "client": { "sysctl": { "net.core.rps_default_mask": "0" } }, "server": { "sysctl": { "net.core.rps_default_mask": "0" } } },/' \
  "$sc/probe/probe.json" >"$sc/probe-plain/probe.json"
uto_port=46000
uto_values=(500ms 1s 2s 3s 4s 5s)
for ((rep = 0; rep < uto_reps; rep++)); do
  for u in "${uto_values[@]}"; do
    cat >"$sc/uto/uto-$u-$rep.json" <<EOF
{ "name": "bench-uto-$u-$rep",
  "server": { "on": "server", "port": $uto_port, "behavior": "sink" },
  "client": { "on": "client", "connect": "server:$uto_port",
              "workload": { "kind": "stream", "rate": "100KiB/s" },
              "socket": { "tcp_user_timeout": "$u" } },
  "faults": [ { "kind": "blackhole", "on": "server", "at": "300ms" } ],
  "deadline": "20s" }
EOF
    uto_port=$((uto_port + 1))
  done
done
"$cli" validate "$sc/trivial" "$sc/wait2" "$sc/waitlong" "$sc/probe" "$sc/probe-plain" "$sc/uto" >/dev/null


# ---- 2. per-cell overhead of a trivial cell, serial ------------------------------------------------
log "trivial cells, serial ($rounds × $trivial_n)"
for ((r = 0; r < rounds; r++)); do
  run_cli "$work/trivial-$r" -j 1 "$sc/trivial"
  "$netbench" setup "$setup_n" >>"$work/setup_sockchaos_overhead.jsonl"
done

# ---- 3 + 5. 64 cells waiting ~2 s in parallel: wall time, orchestrator RSS and CPU ----------------
sampled_run() {  # name dir [prefix command...]
  local out=$work/$1 dir=$2 t0 t1 rc=0
  shift 2
  # The machine's CPU time (/proc/stat "cpu" line) before and after: how busy its cores were.
  head -1 /proc/stat >"$out.cpustat"
  t0=$(date +%s%N)
  # shellcheck disable=SC2086
  "$@" "$cli" run -o "$out" ${jobs_flag--j 64} "$dir" >"$out.stdout" 2>"$out.stderr" &
  local pid=$!
  cli_pid=$pid
  /usr/bin/python3 "$here/sample_proc.py" "$pid" 0.05 >"$out.samples.jsonl" &
  sampler=$!
  wait "$pid" || rc=$?
  cli_pid=""
  t1=$(date +%s%N)
  head -1 /proc/stat >>"$out.cpustat"
  wait "$sampler" 2>/dev/null || true
  sampler=""
  echo "{\"wall_s\": $(((t1 - t0) / 1000))e-6, \"rc\": $rc}" >"$out.wall.json"
}
# The kernel tears down the previous step's namespaces after their last fd closes (cleanup_net,
# in a workqueue, holding RTNL while it unregisters their devices). A run started meanwhile waits
# for RTNL to bring its own links up: measured 1.7 s added to one cell of 64 when two 64-cell
# runs go back to back. Each timed matrix run starts after a pause long enough for that.
settle() { sleep 5; }
log "64 cells × 2 s, -j 64"
settle
sampled_run wait2 "$sc/wait2"
log "64 cells × $wait_long, -j 64 (CPU while every cell waits)"
settle
sampled_run waitlong "$sc/waitlong"
# Where that CPU goes (diagnosis, same cells): with the census every 1 s instead of 100 ms, and
# with every cell namespace given the large 32768-bucket TCP hash (SOCKCHAOS_TCP_HASH) instead of
# the 1024 buckets these cells get (an inet_diag dump walks the whole hash table of its namespace).
log "diagnosis: the same 64 cells with sample_every 1s, then with the large TCP hash"
sed 's/"matrix"/"sample_every": "1s", "matrix"/' "$sc/waitlong/wait.json" >"$sc/waitlong-1s/wait.json"
sampled_run waitlong-1s "$sc/waitlong-1s"
settle
sampled_run waitlong-ehash "$sc/waitlong" env SOCKCHAOS_TCP_HASH=32768

# ---- 4. probe rate: probe workload (linger 0s) vs a bare C connect/close loop ------------------
log "probe rate ($rounds rounds × $probe_n probes each)"
for ((r = 0; r < rounds; r++)); do
  run_cli "$work/probe-$r" -j 1 "$sc/probe"
  run_cli "$work/probeplain-$r" -j 1 "$sc/probe-plain"
  "$netbench" probe-baseline "$agent" "$bare" 49000 "$probe_n" >>"$work/probe_bare.jsonl"
done

# ---- 6. timing accuracy: TCP_USER_TIMEOUT 500 ms .. 5 s, with the kernel's own view -------------
# Two tracefs instances with the CLOCK_MONOTONIC trace clock (the clock the agents and the
# orchestrator stamp with):
#  - sock: for these cells' ports only, every TCP state change of their sockets, the kernel's
#    error report and retransmissions (softirq context, so no pid filter);
#  - sys: the syscall returns (connect, send, poll, netlink sends) of the sockchaos process, its
#    threads and its agents (set_event_pid + event-fork).
# The agents run through a wrapper that tees their event stream (absolute stamps) to a log.
log "TCP_USER_TIMEOUT accuracy (${#uto_values[@]} values × $uto_reps, traced)"
if [ ! -d "$tracefs/events" ]; then
  mount -t tracefs nodev "$tracefs" && mounted_tracefs=1
fi
mkdir -p "$work/agent-log"
cat >"$work/agent-tee.sh" <<'WRAPPER'
#!/bin/bash
# The real agent (its parent is now this shell), its stdout copied to a log (first line: its
# spec) on the way to sockchaos.
log="$SCBENCH_AGENT_LOG/agent.$$"
printf '%s\n' "$1" >"$log"
# Each line goes to the log before sockchaos sees it: sockchaos may kill the agent's process
# group as soon as it reads the last event.
SOCKCHAOS_PARENT_PID=$$ "$SCBENCH_REAL_AGENT" "$@" | while IFS= read -r line; do
  printf '%s\n' "$line" >>"$log"
  printf '%s\n' "$line"
done
exit "${PIPESTATUS[0]}"
WRAPPER
chmod +x "$work/agent-tee.sh"
if [ -d "$tracefs/instances" ]; then
  instance=$tracefs/instances/scbench-$$-sock
  sys_instance=$tracefs/instances/scbench-$$-sys
  mkdir "$instance" "$sys_instance"
  for i in "$instance" "$sys_instance"; do
    echo mono >"$i/trace_clock"
    echo 4096 >"$i/buffer_size_kb"
  done
  filter="dport >= 46000 && dport < $uto_port"
  for ev in sock/inet_sock_set_state sock/inet_sk_error_report tcp/tcp_retransmit_skb; do
    echo "$filter" >"$instance/events/$ev/filter"
    echo 1 >"$instance/events/$ev/enable"
  done
  for ev in connect sendto sendmsg ppoll poll recvfrom; do
    echo 1 >"$sys_instance/events/syscalls/sys_exit_$ev/enable"
  done
  echo 1 >"$sys_instance/options/event-fork"
  echo 1 >"$instance/tracing_on"
  echo 1 >"$sys_instance/tracing_on"
  t0=$(date +%s%N)
  rc=0
  # The shell puts its own pid in set_event_pid, then becomes sockchaos: no thread escapes.
  # SOCKCHAOS_ZYGOTE=0: the tee needs each agent's own stdout, so agents are exec'd here, not
  # forked by the zygote; what the agent does once it runs (the stamps measured) is the same code.
  SOCKCHAOS_ZYGOTE=0 SCBENCH_AGENT_LOG=$work/agent-log SCBENCH_REAL_AGENT=$agent SOCKCHAOS_AGENT=$work/agent-tee.sh \
    bash -c 'echo $$ >"$1/set_event_pid"; shift; exec "$@"' _ "$sys_instance" \
    "$cli" run -o "$work/uto" -j 6 "$sc/uto" >"$work/uto.stdout" 2>"$work/uto.stderr" || rc=$?
  t1=$(date +%s%N)
  echo "{\"wall_s\": $(((t1 - t0) / 1000))e-6, \"rc\": $rc}" >"$work/uto.wall.json"
  echo 0 >"$instance/tracing_on"
  echo 0 >"$sys_instance/tracing_on"
  cat "$instance/trace" >"$work/uto.trace"
  cat "$sys_instance/trace" >"$work/uto.sys.trace"
  for i in "$instance" "$sys_instance"; do
    echo 0 >"$i/events/enable"
    echo >"$i/set_event_pid"
    rmdir "$i"
  done
  instance="" sys_instance=""
else
  echo "tracefs is not available" >"$work/uto.trace.skipped"
  run_cli "$work/uto" -j 6 "$sc/uto"
fi

capture_section
links_section
# ---- 7. performance (issue 13) -----------------------------------------------------------------
# 7a. Where a trivial cell's time goes: the runner's own phase marks (netbench phases), each
#     cell followed by the raw libnl floor (two bare namespaces, a veth, addresses, links up).
log "trivial cell phases vs the raw libnl floor ($phase_n cells)"
"$netbench" phases "$agent" "$phase_n" >"$work/phases.jsonl"
# The same cells with every agent exec'd instead of forked by the zygote: what the zygote saves.
SOCKCHAOS_ZYGOTE=0 "$netbench" phases "$agent" "$phase_n" >"$work/phases-exec.jsonl" || log "phases (exec'd agents) failed"
# What starting any process costs on this machine (a static no-op: spawn, libc start-up, exit,
# reap): the floor under each of the two agent starts in the phase table.
"$exec_floor" 200 >>"$work/phases.jsonl" || log "exec floor failed"
# 7b. Flow order and rate of the bare loop per receive-path variant, interleaved rounds.
log "flow order: bare loop × {plain, rps, rps-one, gro, gro-notso, pin} × $rounds, $order_n probes"
for ((r = 0; r < rounds; r++)); do
  for v in plain rps rps-one gro gro-notso pin; do
    "$netbench" order "$agent" "$bare" "$v" "$order_n" >>"$work/order.jsonl" || log "order $v failed"
  done
done
# 7c. Many cells with default flags: 256 × 2 s and 1024 × 2 s (orchestrator RSS, fds).
sed 's/"name": "bench-wait-2s"/"name": "bench-wait-256"/; s/64 cells/256 cells/' "$sc/wait2/wait.json" |
  /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); d["matrix"]["/deadline"]=[f"{60+i}s" for i in range(256)]; print(json.dumps(d))'   >"$work/wait256.json"
mkdir -p "$sc/wait256" "$sc/wait1024"
mv "$work/wait256.json" "$sc/wait256/wait.json"
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["name"]="bench-wait-1024"; d["matrix"]["/deadline"]=[f"{60+i}s" for i in range(1024)]; print(json.dumps(d))'   "$sc/wait256/wait.json" >"$sc/wait1024/wait.json"
log "256 cells × 2 s, default -j"
settle
jobs_flag="" sampled_run wait256 "$sc/wait256"
log "1024 cells × 2 s, default -j"
settle
jobs_flag="" sampled_run wait1024 "$sc/wait1024"

echo "{\"load_after\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >"$work/machine_after.json"

# ---- report ---------------------------------------------------------------------------------
/usr/bin/python3 "$here/report.py" "$work" "$here/RESULTS.md"
/usr/bin/python3 "$here/capture_report.py" "$work" "$here/RESULTS.md"
log "wrote $here/RESULTS.md"
