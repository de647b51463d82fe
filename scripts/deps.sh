#!/usr/bin/env bash
# Installs the Debian 12 packages sockchaos needs that are missing (root; apt only).
# Usage: scripts/deps.sh [build|test]   (test adds the oracles the tests compare against)
set -euo pipefail
want=(build-essential cmake pkg-config
      libnl-3-dev libnl-route-3-dev libnl-idiag-3-dev libnftables-dev libpcap-dev zlib1g-dev
      libboost-dev libboost-filesystem-dev nlohmann-json3-dev libcli11-dev
      libgtest-dev libgmock-dev pybind11-dev python3-dev python3-pytest python3-setuptools python3-pip
      curl)  # curl: the command client of scenarios/curl-blackhole.json
if [ "${1:-build}" = test ]; then
  # Independent oracles for the tests (the product itself never runs them).
  # ethtool: the link emulator's offload check; tshark: the capture classifier's oracle.
  want+=(iproute2 nftables iputils-ping util-linux procps python3-mypy tshark ethtool)
  # The browser tests install playwright-core from tests/browser/package-lock.json with npm;
  # Node.js may come from elsewhere (nodesource), so only a missing npm pulls Debian's.
  command -v npm >/dev/null 2>&1 || want+=(npm)
fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 3
  fi
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
