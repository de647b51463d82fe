#!/usr/bin/env bash
# The baseline a user would write instead of sockchaos: the same cell topology with ip(8) and
# nft(8) — two named namespaces (lo up), a veth pair between them, a /30 from
# 198.18.0.0/15 on each end, links up, one nftables rule in the server's namespace — then
# deleted again. Prints one JSON line per iteration: {"i":..,"setup_ms":..,"teardown_ms":..}
#   bench/baseline_topology.sh N
# Namespaces are named scbench-<pid>-{c,s} and are deleted on exit whatever happens.
set -euo pipefail
n=${1:-10}
c=scbench-$$-c
s=scbench-$$-s
cleanup() {
  ip netns del "$c" 2>/dev/null || true
  ip netns del "$s" 2>/dev/null || true
}
trap cleanup EXIT INT TERM
now_ns() { date +%s%N; }

for ((i = 0; i < n; i++)); do
  t0=$(now_ns)
  ip netns add "$c"
  ip netns add "$s"
  ip -n "$c" link set lo up
  ip -n "$s" link set lo up
  ip link add sc0 netns "$c" type veth peer name sc0 netns "$s"
  ip -n "$c" addr add 198.19.255.1/30 dev sc0
  ip -n "$s" addr add 198.19.255.2/30 dev sc0
  ip -n "$c" link set sc0 up
  ip -n "$s" link set sc0 up
  ip netns exec "$s" nft -f - <<'EOF'
add table inet scbench
add chain inet scbench input { type filter hook input priority 0; policy accept; }
add rule inet scbench input tcp dport 7000 drop
EOF
  t1=$(now_ns)
  ip netns del "$c"
  ip netns del "$s"
  t2=$(now_ns)
  su=$(((t1 - t0) / 1000)) tu=$(((t2 - t1) / 1000))  # microseconds
  printf '{"i":%d,"setup_ms":%d.%03d,"teardown_ms":%d.%03d}\n' "$i" $((su / 1000)) $((su % 1000)) \
    $((tu / 1000)) $((tu % 1000))
done
