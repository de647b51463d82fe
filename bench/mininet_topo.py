#!/usr/bin/python3
"""Mininet baseline: the same cell topology through Mininet's Python API — two hosts joined
by one veth link (Mininet's hosts are shells in their own network namespaces), an address
from 198.18.0.0/15 on each, one nftables rule in the server host — then net.stop().

Mininet's stock two-host topology (`mn --topo minimal`) puts a switch between the hosts (h1 - s1
- h2). Its default switch is Open vSwitch, which needs the kernel's openvswitch datapath and the
OVS daemons; `--lxbr` measures the same topology with Mininet's Linux-bridge switch and no
controller (`mn --topo minimal --switch lxbr --controller none`), which runs anywhere. The direct
link (default) is the like-for-like comparison with a sockchaos cell.

    mininet_topo.py N [--lxbr]
One JSON line per iteration: {"i":..,"setup_ms":..,"teardown_ms":..}
"""
import json
import os
import sys
import tempfile
import time

from mininet.log import setLogLevel
from mininet.net import Mininet

RULE_FILE = ""
RULE = """add table inet scbench
add chain inet scbench input { type filter hook input priority 0; policy accept; }
add rule inet scbench input tcp dport 7000 drop
"""


def one(i, lxbr):
    t0 = time.monotonic()
    if lxbr:
        from mininet.nodelib import LinuxBridge
        from mininet.topo import MinimalTopo
        net = Mininet(topo=MinimalTopo(), switch=LinuxBridge, controller=None, build=False,
                      ipBase="198.19.254.0/24", waitConnected=False)
    else:
        net = Mininet(topo=None, controller=None, build=False, ipBase="198.19.254.0/24")
        h1 = net.addHost("h1", ip="198.19.254.1/30")
        h2 = net.addHost("h2", ip="198.19.254.2/30")
        net.addLink(h1, h2)
    stopped = False
    try:
        net.build()
        net.start()
        server = net.hosts[-1]
        out = server.cmd(f"nft -f {RULE_FILE}; echo rc=$?")
        if "rc=0" not in out:
            raise SystemExit("nft in the Mininet host failed: " + out)
        t1 = time.monotonic()
        net.stop()
        stopped = True
        t2 = time.monotonic()
    finally:
        if not stopped:
            net.stop()  # never leave Mininet's hosts, links or bridge behind
    print(json.dumps({"i": i, "setup_ms": round((t1 - t0) * 1e3, 3),
                      "teardown_ms": round((t2 - t1) * 1e3, 3)}), flush=True)


def main():
    global RULE_FILE
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    lxbr = "--lxbr" in sys.argv
    setLogLevel("error")
    # host.cmd() and a multi-line here-document do not mix (Mininet reads the shell's
    # continuation prompts as output): the rule goes through a file.
    fd, RULE_FILE = tempfile.mkstemp(suffix=".nft")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(RULE)
        for i in range(n):
            one(i, lxbr)
    finally:
        os.unlink(RULE_FILE)


if __name__ == "__main__":
    main()
