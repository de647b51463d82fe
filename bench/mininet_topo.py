#!/usr/bin/python3
"""Mininet baseline: the same cell topology through Mininet's Python API — two hosts joined
by one veth link (Mininet's hosts are shells in their own network namespaces), an address
from 198.18.0.0/15 on each, one nftables rule in the server host — then net.stop().

Mininet's stock two-host topology (`mn --topo minimal`) puts an Open vSwitch switch and an
OpenFlow controller between the hosts; that needs the ovs-vswitchd/ovsdb-server daemons, so
the bench measures it only when --with-switch is given and OVS is running. The direct link is
the like-for-like comparison with a sockchaos cell.

    mininet_topo.py N [--with-switch]
One JSON line per iteration: {"i":..,"setup_ms":..,"teardown_ms":..}
"""
import json
import sys
import time

from mininet.log import setLogLevel
from mininet.net import Mininet

RULE = """add table inet scbench
add chain inet scbench input { type filter hook input priority 0; policy accept; }
add rule inet scbench input tcp dport 7000 drop
"""


def one(i, with_switch):
    t0 = time.monotonic()
    if with_switch:
        from mininet.node import OVSBridge
        from mininet.topo import MinimalTopo
        net = Mininet(topo=MinimalTopo(), switch=OVSBridge, controller=None,
                      ipBase="198.19.254.0/24", waitConnected=False)
    else:
        net = Mininet(topo=None, controller=None, build=False, ipBase="198.19.254.0/24")
        h1 = net.addHost("h1", ip="198.19.254.1/30")
        h2 = net.addHost("h2", ip="198.19.254.2/30")
        net.addLink(h1, h2)
        net.build()
    net.start()
    server = net.hosts[-1]
    out = server.cmd("nft -f - <<'EOF'\n" + RULE + "EOF\necho rc=$?")
    if "rc=0" not in out:
        net.stop()
        raise SystemExit("nft in the Mininet host failed: " + out)
    t1 = time.monotonic()
    net.stop()
    t2 = time.monotonic()
    print(json.dumps({"i": i, "setup_ms": round((t1 - t0) * 1e3, 3),
                      "teardown_ms": round((t2 - t1) * 1e3, 3)}), flush=True)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with_switch = "--with-switch" in sys.argv
    setLogLevel("error")
    for i in range(n):
        one(i, with_switch)


if __name__ == "__main__":
    main()
