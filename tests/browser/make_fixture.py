#!/usr/bin/env python3
"""Writes fixture_results.json: a realistic results file for the report's browser test.

Deterministic (fixed seed). Run: python3 make_fixture.py > fixture_results.json
"""
import json
import math
import random

rng = random.Random(7)


def samples(t_end, step, fn):
    out = []
    t = 0.0
    while t <= t_end + 1e-9:
        out.append({"t_ms": round(t, 1), "sockets": fn(t)})
        t += step
    return out


def with_events(timeline, events):
    merged = timeline + [{"t_ms": t, "event": e, "detail": d} for t, e, d in events]
    merged.sort(key=lambda x: x["t_ms"])
    return merged


def half_open_cell(uto, ka):
    ka_label = ka if isinstance(ka, str) else json.dumps(ka, separators=(",", ":"))
    cid = f"tcp_user_timeout={uto} keepalive={ka_label}"
    fault = 500.2
    detection = {"off": None, "1s": 1204.7, "2s": 2208.4, "5s": 5213.9}[uto]
    if uto == "2s" and ka != "off":
        detection = 3412.6  # keepalive probes reset the user timeout clock: slower
    end = fault + (detection if detection else 30000) + 800
    err_t = fault + detection if detection else None

    def sockets(t):
        client = {"ESTABLISHED": 1} if (err_t is None or t < err_t) else {}
        return {"client": client, "server": {"ESTABLISHED": 1, "LISTEN": 1}}

    events = [(0.0, "ready", "client connected to server:7000"),
              (fault, "fault", "blackhole on server (both)")]
    if err_t:
        events.append((round(err_t, 1), "client-error", "send: ETIMEDOUT"))
    events.append((round(end, 1), "observe-end", ""))
    run = {
        "outcome": "detected" if detection else "undetected",
        "detection_ms": detection,
        "error": "ETIMEDOUT" if detection else None,
        "syscall": "send" if detection else None,
        "mechanism": "tcp_user_timeout" if detection else None,
        "fault_ms": fault, "deadline_ms": 30000.0, "duration_ms": round(end, 1),
        "sockets": {"client": {"peak": {"ESTABLISHED": 1}},
                    "server": {"peak": {"ESTABLISHED": 1, "LISTEN": 1}}},
        "probes": {"attempted": 0, "succeeded": 0, "failed": {}},
        "timeline": with_events(samples(end, 100, sockets), events),
        "faults": [{"label": "blackhole on server (both)", "installed_ms": fault, "healed_ms": None}],
    }
    if uto == "2s" and ka == "off":  # the evidence of issue 11: model, packets, tcp_info
        rto = 208.0
        packets = [(-0.4, "syn", "sent", 0), (-0.3, "syn_ack", "received", 0),
                   (fault + 22.0, "tail_loss_probe", "sent", 0)]
        packets += [(fault + 22.0 + rto * ((1 << i) - 1) + rto, "retransmission", "sent", i) for i in range(1, 4)]
        for t, kind, direction, ordinal in packets:
            mark = {"host": "client", "kind": kind, "direction": direction, "flow": 1, "seq": 1, "ack": 1,
                    "len": 0 if kind.startswith("syn") else 1448, "window": 502}
            if ordinal:
                mark["ordinal"] = ordinal
            run["timeline"].append({"t_ms": round(t, 1), "event": "packet",
                                    "detail": f"{direction} {kind}" + (f" #{ordinal}" if ordinal else ""),
                                    "packet": mark})
        run["timeline"].sort(key=lambda x: x["t_ms"])
        info = {"state": "ESTABLISHED", "ca_state": 0, "retransmits": 0, "probes": 0, "backoff": 0, "rto_ms": rto,
                "ato_ms": 40.0, "snd_mss": 1448, "rcv_mss": 536, "unacked": 0, "sacked": 0, "lost": 0, "retrans": 0,
                "last_data_sent_ms": 0.0, "last_data_recv_ms": 0.0, "last_ack_recv_ms": 0.0, "rtt_ms": 0.05,
                "rttvar_ms": 0.03, "snd_cwnd": 10, "total_retrans": 0}
        run["tcp_info"] = []
        for i in range(5):
            sample = dict(info, t_ms=round(fault + 600.0 * i, 1), host="client", local="198.18.0.1:40312",
                          remote="198.18.0.2:7000", retransmits=i, backoff=i, rto_ms=rto * (1 << i),
                          ca_state=4 if i else 0, unacked=12 if i else 0, total_retrans=i)
            run["tcp_info"].append(sample)
        run["mechanism_basis"] = ("3 retransmissions of the head after a tail loss probe, backoff up to 3; "
                                  "TCP_USER_TIMEOUT 2000 ms since the first retransmission ended it")
        run["mechanism_from_evidence"] = True
        run["model"] = {"quantity": "detection", "ms": 2230.0, "mechanism": "tcp_user_timeout", "error": "ETIMEDOUT",
                        "formula": "tail loss probe 22 ms + RTO 208 ms + TCP_USER_TIMEOUT 2000 ms",
                        "inputs": {"base_rto": {"value": rto, "unit": "ms", "origin": "measured",
                                                "detail": "tcp_info.tcpi_rto before the fault"},
                                   "user_timeout": {"value": 2000, "unit": "ms", "origin": "socket",
                                                    "detail": "TCP_USER_TIMEOUT"}},
                        "lo_ms": 2220.0, "hi_ms": 2330.0, "window": "timer wheel: each RTO up to 32 ms late",
                        "source": "net/ipv4/tcp_timer.c: tcp_retransmit_timer, retransmits_timed_out",
                        "would_fire_ms": None, "notes": [], "measured": detection,
                        "delta_ms": round(detection - 2230.0, 1), "holds": False,
                        "why": f"{2220.0 - detection:.1f} ms earlier than the model allows (2220 ms)"}
    expectations = []
    if uto == "2s":
        ok = detection <= 3000
        expectations.append({"check": "detected_within 3s", "passed": ok,
                             "detail": f"{detection:.0f} ms"})
        expectations.append({"check": "error ETIMEDOUT", "passed": True, "detail": "ETIMEDOUT"})
    if uto == "off":
        expectations.append({"check": "undetected", "passed": True,
                             "detail": "no client error within 30s"})
    cell = {"id": cid,
            "params": {"/client/socket/tcp_user_timeout": uto, "/client/socket/keepalive": ka},
            "runs": [run], "expectations": expectations}
    if uto == "5s" and ka == "off":  # repeat 3
        runs = []
        for d in (5213.9, 5198.2, 5240.6):
            r = json.loads(json.dumps(run))
            r["detection_ms"] = d
            runs.append(r)
        cell["runs"] = runs
        cell["summary"] = {"runs": 3, "detected": 3,
                           "detection_ms": {"min": 5198.2, "median": 5213.9, "max": 5240.6}}
    return cell


def probe_cell(linger):
    duration = 30000.0
    series, timeline = [], []
    attempted_total = failed_total = 0
    tw_at = {}
    for i in range(60):
        t = (i + 1) * 500.0
        if linger == "off":
            tw = min(28231, int(t / duration * 31000))
            crowd = tw / 28232
            p50 = 0.08 + 9 * crowd ** 4 + rng.uniform(0, 0.02)
            p99 = 0.3 + 55 * crowd ** 3.5 + rng.uniform(0, 0.3)
            attempted = 500
            failed = 0 if tw < 27500 else int(120 * (tw - 27500) / 700 + rng.randint(0, 15))
        else:
            tw = 0
            p50, p99 = 0.07 + rng.uniform(0, 0.02), 0.25 + rng.uniform(0, 0.1)
            attempted, failed = 500, 0
        tw_at[t] = tw
        attempted_total += attempted
        failed_total += failed
        series.append({"t_ms": t, "attempted": attempted, "failed": failed,
                       "connect_p50_ms": round(p50, 3), "connect_p99_ms": round(p99, 3)})

    def sockets(t):
        key = min(tw_at, key=lambda k: abs(k - t))
        tw = tw_at[key] if t > 0 else 0
        client = {"ESTABLISHED": 1 + rng.randint(0, 2), "SYN_SENT": rng.randint(0, 1)}
        if tw:
            client["TIME_WAIT"] = tw
        return {"client": client, "server": {"LISTEN": 1, "ESTABLISHED": rng.randint(0, 2)}}

    timeline = with_events(samples(duration, 250, sockets),
                           [(0.0, "ready", "probing server:7000 as fast as possible")] +
                           ([(27810.4, "client-error", "connect: EADDRNOTAVAIL")] if failed_total else []) +
                           [(duration, "observe-end", "")])
    tw_peak = max(tw_at.values())
    run = {
        "outcome": "detected" if failed_total else "undetected",
        "detection_ms": 27810.4 if failed_total else None,
        "error": "EADDRNOTAVAIL" if failed_total else None,
        "syscall": "connect" if failed_total else None,
        "duration_ms": duration,
        "sockets": {"client": {"peak": {"ESTABLISHED": 3, "SYN_SENT": 1, "TIME_WAIT": tw_peak}},
                    "server": {"peak": {"LISTEN": 1, "ESTABLISHED": 2}}},
        "probes": {"attempted": attempted_total, "succeeded": attempted_total - failed_total,
                   "failed": {"EADDRNOTAVAIL": failed_total} if failed_total else {},
                   "per_second": attempted_total / 30.0,
                   "connect_ms": {"p50": 0.41 if linger == "off" else 0.08,
                                  "p99": 41.7 if linger == "off" else 0.33,
                                  "max": 118.2 if linger == "off" else 1.9},
                   "series": series},
        "timeline": timeline,
        "faults": [],
    }
    expectations = [{"check": "time_wait_max 30000 (client)", "passed": tw_peak <= 30000,
                     "detail": f"TIME_WAIT peak {tw_peak} on client", "pointer": "/expect/0/time_wait_max"},
                    {"check": "probe_failures_max 0", "passed": failed_total == 0,
                     "detail": f"probe failures {failed_total}", "pointer": "/expect/0/probe_failures_max"}]
    return {"id": f"linger={linger}", "params": {"/client/socket/linger": linger},
            "runs": [run], "expectations": expectations}


def request_cell():
    def sockets(t):
        c = {"ESTABLISHED": 8}
        if 5000 <= t < 10000:
            c["FIN_WAIT1"] = rng.randint(0, 2)
        return {"client": c, "server": {"LISTEN": 1, "ESTABLISHED": 8,
                                        "CLOSE_WAIT": 1 if t > 9000 else 0}}
    phases = [
        {"phase": "before", "start_ms": 0, "end_ms": 5000, "requests": 4998, "errors": 0,
         "tps": 999.6, "p50_ms": 0.21, "p90_ms": 0.34, "p99_ms": 0.61, "max_ms": 2.4, "mean_ms": 0.24},
        {"phase": "during", "start_ms": 5000, "end_ms": 10000, "requests": 3121, "errors": 14,
         "tps": 624.2, "p50_ms": 0.26, "p90_ms": 207.5, "p99_ms": 1018.2, "max_ms": 3209.7, "mean_ms": 61.3},
        {"phase": "after", "start_ms": 10000, "end_ms": 15000, "requests": 4990, "errors": 0,
         "tps": 998.0, "p50_ms": 0.22, "p90_ms": 0.35, "p99_ms": 0.7, "max_ms": 3.1, "mean_ms": 0.25},
    ]
    run = {
        "outcome": "undetected", "detection_ms": None, "fault_ms": 5000.1, "deadline_ms": 60000.0,
        "duration_ms": 15000.0,
        "sockets": {"client": {"peak": {"ESTABLISHED": 8, "FIN_WAIT1": 2}},
                    "server": {"peak": {"LISTEN": 1, "ESTABLISHED": 8, "CLOSE_WAIT": 1}}},
        "requests": {"phases": phases},
        "timeline": with_events(samples(15000, 100, sockets), [
            (0.0, "ready", "8 connections established"),
            (5000.1, "fault", "drop 30% on server (both)"),
            (10000.3, "heal", "drop 30% on server (both)"),
            (15000.0, "observe-end", "")]),
        "faults": [{"label": "drop 30% on server (both)", "installed_ms": 5000.1, "healed_ms": 10000.3}],
    }
    return {"id": "", "params": {}, "runs": [run],
            "expectations": [{"check": "undetected", "passed": True, "detail": "no client error"}]}


def fin_timeout_cell(fin_timeout, behavior):
    """A socket scenario's cell: its expectations are about TIME_WAIT, FIN_WAIT2 and CLOSE_WAIT."""
    end = 200.0  # the workload (10 probes) is over here
    observe = end + 70000.0
    if behavior == "echo":
        cleared = 60000.0 + 1000.0 * (fin_timeout == 60) + 412.3
        def sockets(t):
            tw = 10 if end <= t < end + cleared else 0
            return {"client": {"TIME_WAIT": tw} if tw else {}, "server": {"LISTEN": 1}}
        peaks = {"client": {"TIME_WAIT": 10}, "server": {"LISTEN": 1}}
        cleared_ms = {"client": cleared, "server": None}
        expectations = [
            {"check": "time_wait_min 10 (client)", "passed": True, "detail": "TIME_WAIT peak 10 on client",
             "pointer": "/expect/0/time_wait_min"},
            {"check": "time_wait_max 10 (client)", "passed": True, "detail": "TIME_WAIT peak 10 on client",
             "pointer": "/expect/0/time_wait_max"},
            {"check": "time_wait_cleared_within 65s (client)", "passed": True,
             "detail": f"TIME_WAIT on client cleared {cleared:.1f} ms after the workload ended",
             "pointer": "/expect/0/time_wait_cleared_within"},
            {"check": "probe_failures_max 0", "passed": True, "detail": "probe failures 0",
             "pointer": "/expect/0/probe_failures_max"}]
    else:
        fin_wait2_until = end + fin_timeout * 1000.0
        def sockets(t):
            client = {"FIN_WAIT2": 10} if end <= t < fin_wait2_until else {}
            return {"client": client, "server": {"LISTEN": 1, "CLOSE_WAIT": 10} if t >= end else {"LISTEN": 1}}
        peaks = {"client": {"FIN_WAIT2": 10}, "server": {"LISTEN": 1, "CLOSE_WAIT": 10}}
        cleared_ms = {"client": None, "server": None}
        expectations = [
            {"check": "time_wait_max 0 (client)", "passed": True, "detail": "TIME_WAIT peak 0 on client",
             "pointer": "/expect/1/time_wait_max"},
            {"check": "states_min FIN_WAIT2 10 (client)", "passed": True, "detail": "FIN_WAIT2 peak 10 on client",
             "pointer": "/expect/1/states_min/FIN_WAIT2"},
            {"check": "states_min CLOSE_WAIT 10 (server)", "passed": True, "detail": "CLOSE_WAIT peak 10 on server",
             "pointer": "/expect/2/states_min/CLOSE_WAIT"}]
    census_errors = 1 if (fin_timeout, behavior) == (60, "hold") else 0
    run = {
        "outcome": "undetected", "detection_ms": None, "detection_origin": None, "error": None,
        "syscall": None, "mechanism": None, "fault_ms": None, "workload_end_ms": end,
        "deadline_ms": 80000.0, "duration_ms": observe,
        "sockets": {host: {"peak": peaks[host],
                           "cleared_ms": {"TIME_WAIT": cleared_ms[host]} if "TIME_WAIT" in peaks[host] else {},
                           "time_wait_cleared_ms": cleared_ms[host],
                           "census": {"samples": 140, "errors": census_errors if host == "server" else 0,
                                      **({"first_error": "inet_diag: EBUSY"}
                                         if census_errors and host == "server" else {})}}
                    for host in ("client", "server")},
        "probes": {"attempted": 10, "succeeded": 10, "failed": {}, "per_second": 50.0,
                   "connect_ms": {"p50": 0.08, "p99": 0.2, "max": 0.2}},
        "timeline": with_events(samples(observe, 1000, sockets),
                                [(0.0, "ready", "probing server:7000"), (end, "workload-end", "10 probes"),
                                 (observe, "observe-end", "")]),
        "faults": [],
    }
    return {"id": f"tcp_fin_timeout={fin_timeout} behavior={behavior}",
            "params": {"/hosts/client/sysctl/net.ipv4.tcp_fin_timeout": fin_timeout, "/server/behavior": behavior},
            "runs": [run], "expectations": expectations}


def xss_cells():
    evil = '<img src=x onerror=alert(1)>'
    cmd_run = {
        "outcome": "error", "detection_ms": None, "error": "exit:7",
        "error_detail": 'agent said: </script><script>alert("detail")</script> & "quotes"',
        "duration_ms": 1200.0,
        "command": {"argv": ["curl", "-sS", "http://198.18.0.2:7000/<svg onload=alert(5)>"],
                    "exit": 7,
                    "stdout": '</script><script>alert(3)</script>\n<b>not bold</b>\n',
                    "stderr": "curl: (7) Failed to connect \u2028 \x1b[31mred\x1b[0m"},
        "timeline": [{"t_ms": 0.0, "sockets": {"client": {"SYN_SENT": 1}}},
                     {"t_ms": 100.0, "event": "ready", "detail": "<script>alert(6)</script>"},
                     {"t_ms": 300.0, "event": "fault", "detail": evil},
                     {"t_ms": 1200.0, "event": "client-error", "detail": "exit:7 " + evil}],
        "faults": [{"label": evil, "installed_ms": 300.0, "healed_ms": 900.0}],
    }
    axis = '/client/"><svg onload=alert(4)>'
    return [
        {"id": "v=<b>bold</b>", "params": {axis: "<b>bold</b>"}, "runs": [cmd_run],
         "expectations": [{"check": "error <script>alert(7)</script>", "passed": False,
                           "detail": "got exit:7 <img src=x onerror=alert(8)>"}]},
        {"id": "v=plain", "params": {axis: "plain"}, "runs": [{"outcome": "skipped"}],
         "expectations": []},
    ], axis


def main():
    utos = ["off", "1s", "2s", "5s"]
    kas = ["off", {"idle": "1s", "interval": "1s", "count": 3}]
    half_open = [half_open_cell(u, k) for u in utos for k in kas]
    xss, xss_axis = xss_cells()
    scenarios = [
        {"name": "half-open-busy-sender", "file": "scenarios/half-open.json",
         "description": "The server host dies while the client streams; who notices first?",
         "matrix_axes": ["/client/socket/tcp_user_timeout", "/client/socket/keepalive"],
         "cells": half_open},
        {"name": "probe-time-wait-exhaustion", "file": "scenarios/probe-tw.json",
         "description": "A health checker opening and closing connections as fast as it can: "
                        "TIME_WAIT piles up and connect() slows down searching for a free port.",
         "matrix_axes": ["/client/socket/linger"],
         "cells": [probe_cell("off"), probe_cell("0s")]},
        {"name": "request-latency-during-loss", "file": "scenarios/request-loss.json",
         "description": "Eight keep-alive connections at 1000 req/s; 30% packet loss for 5 s.",
         "cells": [request_cell()]},
        {"name": "<img src=x onerror=alert(1)>", "file": "scenarios/<script>alert(9)</script>.json",
         "description": "XSS probe: </script><script>alert(10)</script> 'single' \"double\" & amp",
         "matrix_axes": [xss_axis], "cells": xss},
        {"name": "fin-timeout-time-wait", "file": "scenarios/fin-timeout-time-wait.json",
         "description": "Who holds the socket after the close: TIME_WAIT on the closing side, "
                        "FIN_WAIT2 and CLOSE_WAIT when the server never closes.",
         "matrix_axes": ["/hosts/client/sysctl/net.ipv4.tcp_fin_timeout", "/server/behavior"],
         "cells": [fin_timeout_cell(f, b) for f in (5, 60) for b in ("echo", "hold")]},
    ]
    cells = sum(len(s["cells"]) for s in scenarios)
    runs = sum(len(c["runs"]) for s in scenarios for c in s["cells"])
    passed = sum(1 for s in scenarios for c in s["cells"] for e in c["expectations"] if e["passed"])
    failed = sum(1 for s in scenarios for c in s["cells"] for e in c["expectations"] if not e["passed"])
    errors = sum(1 for s in scenarios for c in s["cells"] for r in c["runs"] if r.get("outcome") == "error")
    results = {"version": "sockchaos 0.1.0", "kernel": "6.1.0-28-amd64",
               "started": "2026-11-21T10:00:00Z", "scenarios": scenarios,
               "summary": {"cells": cells, "runs": runs, "expectations_passed": passed,
                           "expectations_failed": failed, "errors": errors}}
    print(json.dumps(results, indent=1))


main()
