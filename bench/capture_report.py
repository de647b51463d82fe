#!/usr/bin/python3
"""Section 7 of bench/RESULTS.md: packet capture on vs off, from the raw data of bench/run.sh
(its capture_section). Replaces only that section (between its markers), so a run with
`--only capture` keeps every other section as it was.
    capture_report.py WORK_DIR RESULTS.md
"""
import json
import os
import statistics
import sys

BEGIN, END = "<!-- section 8: capture (bench/capture_report.py) -->", "<!-- end of section 8 -->"


def load(work, name):
    try:
        with open(os.path.join(work, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def med(xs):
    return statistics.median(xs) if xs else None


def f1(x):
    return "-" if x is None else f"{x:.1f}"


def f2(x):
    return "-" if x is None else f"{x:.2f}"


def cost_text(pct):
    if pct is None:
        return "-"
    if pct >= 0:
        return f"capture costs {pct:.1f} %"
    return f"no cost measured: with capture {-pct:.1f} % faster (load noise; docs/evidence.md \"Cost\" on why)"


def runs(results):
    for s in (results or {}).get("scenarios", []):
        for c in s.get("cells", []):
            for r in c.get("runs", []):
                yield r


def main(work, out_path):
    params = load(work, "capture-params.json") or {}
    rounds, trivial_n, probe_n = params.get("rounds", 0), params.get("trivial_n", 1), params.get("probe_n", 0)
    cell_ms = {"on": [], "off": []}
    duration = {"on": [], "off": []}
    rate = {"on": [], "off": []}
    rss = {"on": [], "off": []}
    outcomes = {"on": {}, "off": {}}
    kept = []
    for r in range(rounds):
        for mode in ("on", "off"):
            wall = load(work, f"cap-trivial-{mode}-{r}.wall.json")
            res = load(work, f"cap-trivial-{mode}-{r}/results.json")
            if wall and res:
                cell_ms[mode].append(wall["wall_s"] * 1000 / trivial_n)
                for run in runs(res):
                    duration[mode].append(run.get("duration_ms", 0))
                    outcomes[mode][run.get("outcome")] = outcomes[mode].get(run.get("outcome"), 0) + 1
            pres = load(work, f"cap-probe-{mode}-{r}/results.json")
            for run in runs(pres):
                ps = (run.get("probes") or {}).get("per_second")
                if ps:
                    rate[mode].append(ps)
                if mode == "on":
                    for h in ((run.get("capture") or {}).get("hosts") or {}).values():
                        kept.append(h.get("kept", 0))
            m = load(work, f"cap-par-{mode}-{r}.rss.json")
            if m:
                rss[mode].append(m["max_rss_kib"] / 1024)
    n = min(len(cell_ms["on"]), len(cell_ms["off"]))
    cell_delta = [cell_ms["on"][i] - cell_ms["off"][i] for i in range(n)]
    n = min(len(rate["on"]), len(rate["off"]))
    rate_ratio = [rate["on"][i] / rate["off"][i] for i in range(n)]
    n = min(len(rss["on"]), len(rss["off"]))
    rss_cell = [(rss["on"][i] - rss["off"][i]) / 16 for i in range(n)]

    d_cell, r_ratio, m_cell = med(cell_delta), med(rate_ratio), med(rss_cell)
    cost_pct = None if r_ratio is None else (1 - r_ratio) * 100

    def verdict(ok):
        return "-" if ok is None else ("met" if ok else "missed")

    lines = [BEGIN, "## 8. Packet capture: on vs off", ""]
    lines.append(f"Run {params.get('date', '?')} at {params.get('commit', '?')}"
                 f"{' (--quick)' if params.get('quick') else ''}; load average at the end {params.get('load', '?')}. "
                 "The same cells with `\"capture\": true` (the default: every interface of both hosts, "
                 "snaplen 128, 4 MiB cap per host) and `\"capture\": false`, through `sockchaos run`, in "
                 f"{rounds} alternating rounds (the order alternating too), so a load spike hits both sides.")
    lines += ["", "| Figure | capture off | capture on | Difference | Target | Verdict |", "|---|---|---|---|---|---|"]
    lines.append(f"| Per-cell cost of a trivial cell (one probe, no fault), serial, {trivial_n} cells a round | "
                 f"{f2(med(cell_ms['off']))} ms | {f2(med(cell_ms['on']))} ms | {f2(d_cell)} ms / cell (median of the paired rounds: "
                 f"{', '.join(f2(x) for x in cell_delta)}) | ≤ 2 ms | {verdict(None if d_cell is None else d_cell <= 2)} |")
    lines.append(f"| Flat-out probe rate, linger 0s, {probe_n} probes a round | {f1(med(rate['off']))} /s | "
                 f"{f1(med(rate['on']))} /s | {cost_text(cost_pct)} (paired ratios on/off: "
                 f"{', '.join(f2(x) for x in rate_ratio)}) | ≤ 10 % | {verdict(None if cost_pct is None else cost_pct <= 10)} |")
    lines.append(f"| Orchestrator peak RSS, 16 cells of 100 probes at once | {f1(med(rss['off']))} MiB | "
                 f"{f1(med(rss['on']))} MiB | {f2(m_cell)} MiB / cell | bounded: ≤ 2 × 4 MiB cap + buffers | "
                 f"{verdict(None if m_cell is None else m_cell <= 8.5)} |")
    lines += ["",
              f"- cell `duration_ms` (agent start to the last census): median {f1(med(duration['off']))} ms off, "
              f"{f1(med(duration['on']))} ms on; outcomes off {outcomes['off']}, on {outcomes['on']}",
              f"- packets kept per host in a probe cell with capture: median {med(kept) if kept else '-'} "
              f"(4 per probe and host: SYN, SYN-ACK, ACK, RST)",
              "- memory per cell is bounded by the capture's own cap: at most `max_bytes` (4 MiB by default) of "
              "packets per host, the first and the last part kept past it (docs/evidence.md, \"Bounds and losses\"), "
              "plus the packet sockets' kernel receive buffers, which are not in the orchestrator's RSS."]
    bench = os.path.join(work, "capturebench.md")
    if os.path.exists(bench) and os.path.getsize(bench) > 0:
        with open(bench) as f:
            body = f.read().strip().replace("\n## ", "\n#### ").replace("\n### ", "\n#### ")
        if body.startswith("## "):
            body = "#### " + body[3:]
        lines += ["", "### The capture's own calls (bench/capture_bench.cpp, same run)", "", body]
    lines += [END]
    section = "\n".join(lines) + "\n"

    try:
        with open(out_path) as f:
            text = f.read()
    except OSError:
        text = "# sockchaos benchmarks\n"
    if BEGIN in text and END in text:
        i, j = text.index(BEGIN), text.index(END) + len(END)
        text = text[:i] + section.rstrip("\n") + text[j:]
    elif "\n## Where a target is missed" in text:
        i = text.index("\n## Where a target is missed")
        text = text[:i] + "\n" + section + text[i:]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(out_path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1], sys.argv[2])
