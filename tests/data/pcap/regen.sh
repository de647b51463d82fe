#!/usr/bin/env bash
# Re-records the capture fixtures in namespaces (root) and saves tshark's reading of each next
# to it, the oracle tests/unit/test_packet_events.cpp compares the classifier with.
#   tests/data/pcap/regen.sh [build-dir]       (--tshark-only: keep the captures, redo the .tsv)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../../build}
if [ "$build" != --tshark-only ]; then
  SOCKCHAOS_RECORD_PCAP_DIR="$here" "$build/sockchaos_integration_tests" --gtest_filter='CaptureFixtures.DISABLED_Record' --gtest_also_run_disabled_tests
  /usr/bin/python3 "$here/make_synthetic.py" "$here/wireshark_rules.synthetic.pcap"
fi
fields=()
while read -r f; do
  case $f in ''|'#'*) continue ;; esac
  fields+=(-e "$f")
done < "$here/tshark_fields.txt"
for f in "$here"/*.pcap; do
  tshark -n -r "$f" -o tcp.relative_sequence_numbers:FALSE -T fields -E header=y "${fields[@]}" \
    > "${f%.pcap}.expected.tsv" 2>/dev/null
done
tshark -v 2>/dev/null | head -1 > "$here/TSHARK_VERSION"
