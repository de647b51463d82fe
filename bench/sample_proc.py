#!/usr/bin/python3
"""Samples one process until it exits: CPU (utime and stime of all its threads, clock ticks,
from /proc/PID/stat), VmHWM / VmRSS (kB, /proc/PID/status) and how many fds it holds and how many children it has
(the agents: one client and one server per running cell).
    sample_proc.py PID INTERVAL_S > samples.jsonl
Each line: {"t": monotonic s, "cpu_ticks": .., "hwm_kb": .., "rss_kb": .., "children": .., "fds": ..}
"""
import json
import os
import sys
import time


def sample(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of stat
    hwm = rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
            elif line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    try:
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        fds = 0
    children = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                children += len(f.read().split())
        except OSError:
            pass
    return {"t": time.monotonic(), "cpu_ticks": utime + stime, "utime": utime, "stime": stime, "hwm_kb": hwm, "rss_kb": rss, "children": children, "fds": fds}


def main():
    pid, interval = int(sys.argv[1]), float(sys.argv[2])
    print(json.dumps({"clk_tck": os.sysconf("SC_CLK_TCK")}), flush=True)
    while True:
        try:
            s = sample(pid)
        except (OSError, IndexError, ValueError):
            return
        print(json.dumps(s), flush=True)
        time.sleep(interval)


if __name__ == "__main__":
    main()
