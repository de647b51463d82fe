#!/usr/bin/python3
"""Findings table: what the field articles claim vs what sockchaos measured.

Usage: /usr/bin/python3 scripts/findings.py reports/out/results.json [more results.json ...]

Reads results.json files (written by `sockchaos run`) and prints a Markdown table: scenario,
claim (from the articles / docs background), what was measured (numbers computed from the
results, never typed in), verdict (confirmed / refuted / nuanced / not run). Claims live
below, keyed by scenario name and cell id. Standard library only.
"""
import json
import sys

# --------------------------------------------------------------------------- helpers


def cells_of(results):
    out = {}
    for sc in results.get("scenarios", []):
        for cell in sc.get("cells", []):
            out[(sc.get("name"), cell.get("id", ""))] = cell
    return out


def runs(cell):
    return [r for r in cell.get("runs", []) if r.get("outcome") in ("detected", "undetected")]


def peak(run, host, state):
    return (((run.get("sockets") or {}).get(host) or {}).get("peak") or {}).get(state, 0)


def cleared(run, host, state):
    s = ((run.get("sockets") or {}).get(host) or {})
    if state == "TIME_WAIT" and "time_wait_cleared_ms" in s:
        return s["time_wait_cleared_ms"]
    return (s.get("cleared_ms") or {}).get(state)


def failures(run):
    f = (run.get("probes") or {}).get("failed") or {}
    return sum(v for v in f.values() if isinstance(v, (int, float))) if isinstance(f, dict) else f


def sec(ms):
    return "never" if ms is None else "%.2f s" % (ms / 1000.0)


def det(run):
    if run.get("outcome") != "detected":
        return "undetected (deadline %s)" % sec(run.get("deadline_ms"))
    return "%s after the fault (%s, %s)" % (sec(run.get("detection_ms")), run.get("error"), run.get("mechanism"))


def all_runs(cell, fn):
    """fn(run) -> text for each run, joined; verdicts use the first run (and ranges)."""
    return "; ".join(fn(r) for r in runs(cell))


ROWS = []


def row(scenario, claim, measured, verdict):
    ROWS.append((scenario, claim, measured, verdict))


# --------------------------------------------------------------------------- claims


def probe_time_wait(c):
    for cid, claim in [("linger=off", "Each health-check probe (connect, close) leaves one TIME_WAIT on the prober, none on the server (art. 000/001)"),
                       ("linger=0s", "SO_LINGER {on, 0} closes with RST: no TIME_WAIT (art. 000, Go SetLinger(0))")]:
        cell = c.get(("probe-time-wait", cid))
        if not cell or not runs(cell):
            continue
        r = runs(cell)[0]
        n = (r.get("probes") or {}).get("attempted", 0)
        tw, stw = peak(r, "client", "TIME_WAIT"), peak(r, "server", "TIME_WAIT")
        ok = (tw == n and stw == 0) if cid == "linger=off" else (tw == 0 and stw == 0)
        row("probe-time-wait " + cid, claim, "%d probes: TIME_WAIT peak %d on prober, %d on server" % (n, tw, stw),
            "confirmed" if ok else "refuted")


def fin_timeout(c):
    for ft in (5, 60):
        cell = c.get(("fin-timeout-time-wait", "net.ipv4.tcp_fin_timeout=%d behavior=echo" % ft))
        if cell and runs(cell):
            r = runs(cell)[0]
            ms = cleared(r, "client", "TIME_WAIT")
            verdict = "refuted" if ms is not None and ms >= 59000 else ("refuted" if ms is None else "confirmed")
            row("fin-timeout-time-wait fin_timeout=%d echo" % ft,
                "tcp_fin_timeout shortens TIME_WAIT (art. 000/003: 'lower fin_timeout to release TIME_WAIT sooner')",
                "TIME_WAIT peak %d, gone %s after the last close (TCP_TIMEWAIT_LEN = 60 s)" % (peak(r, "client", "TIME_WAIT"), sec(ms)),
                verdict)
        cell = c.get(("fin-timeout-time-wait", "net.ipv4.tcp_fin_timeout=%d behavior=hold" % ft))
        if cell and runs(cell):
            r = runs(cell)[0]
            ms = cleared(r, "client", "FIN_WAIT2")
            ok = ms is not None and ft * 1000 - 500 <= ms <= ft * 1000 + 5500
            row("fin-timeout-time-wait fin_timeout=%d hold" % ft,
                "tcp_fin_timeout bounds an orphaned FIN_WAIT2 (ip-sysctl); the peer never closes, so no TIME_WAIT",
                "FIN_WAIT2 peak %d, gone %s after the last close; TIME_WAIT peak %d" % (
                    peak(r, "client", "FIN_WAIT2"), sec(ms), peak(r, "client", "TIME_WAIT")),
                "confirmed" if ok and peak(r, "client", "TIME_WAIT") == 0 else "refuted")


def busy_sender(c):
    # Group the 16 cells by the limit in force; keepalive on/off must not matter.
    groups = {}
    for (name, cid), cell in c.items():
        if name != "half-open-busy-sender":
            continue
        p = cell.get("params", {})
        ut = p.get("/client/socket/tcp_user_timeout")
        r2 = p.get("/hosts/client/sysctl/net.ipv4.tcp_retries2")
        key = ("ut", ut) if ut != "off" else ("r2", r2)
        for r in runs(cell):
            groups.setdefault(key, []).append(r)
    for key in sorted(groups, key=lambda k: (k[0], str(k[1]))):
        rs = groups[key]
        ds = [r.get("detection_ms") for r in rs if r.get("outcome") == "detected"]
        if len(ds) != len(rs) or not ds:
            row("half-open-busy-sender", "limit %s=%s ends a stuck sender" % key, "undetected in %d of %d cells" % (len(rs) - len(ds), len(rs)), "refuted")
            continue
        lo, hi = min(ds), max(ds)
        if key[0] == "r2":
            n = int(key[1])
            model = (2 ** (n + 1) - 1) * 200.0
            extra = (2 ** (n + 2) - 1) * 200.0
            verdict = "confirmed" if hi <= model + 300 else ("nuanced" if lo >= model else "refuted")
            row("half-open-busy-sender retries2=%d" % n,
                "tcp_retries2=%d gives up after (2^(N+1)-1) x 200 ms = %.1f s (ip-sysctl model; 15 -> 924.6 s)" % (n, model / 1000),
                "ETIMEDOUT after %.2f-%.2f s (%d cells, keepalive on/off alike); one more backoff would be %.1f s" % (lo / 1000, hi / 1000, len(ds), extra / 1000),
                verdict + (": one extra backoff (checked from the first retransmission)" if verdict == "nuanced" else ""))
        else:
            t = float(key[1].rstrip("ms").rstrip("s")) * (1 if key[1].endswith("ms") else 1000)
            verdict = "nuanced" if lo >= t and hi <= t + 450 else ("confirmed" if lo >= t - 50 and hi <= t + 100 else "refuted")
            row("half-open-busy-sender user_timeout=%s" % key[1],
                "TCP_USER_TIMEOUT=%s ends a sender with unacknowledged data after that long (tcp(7))" % key[1],
                "ETIMEDOUT after %.2f-%.2f s (%d cells): +%.0f-%.0f ms" % (lo / 1000, hi / 1000, len(ds), lo - t, hi - t),
                verdict + (": counted from the first retransmission (one RTO/TLP after the fault)" if verdict == "nuanced" else ""))


def port_exhaustion(c):
    for (name, cid), cell in sorted(c.items()):
        if name != "port-exhaustion-tw-reuse" or not runs(cell):
            continue
        p = cell["params"]
        reuse, ts = p.get("/hosts/client/sysctl/net.ipv4.tcp_tw_reuse"), p.get("/hosts/client/sysctl/net.ipv4.tcp_timestamps")
        r = runs(cell)[0]
        n, f = (r.get("probes") or {}).get("attempted", 0), failures(r)
        expect_ok = reuse == 1 and ts == 1
        claim = ("tcp_tw_reuse=1 lets connect() reuse a TIME_WAIT port after ~1 s (outbound, needs timestamps) (art. 002/003)" if reuse == 1
                 else "10 ports + TIME_WAIT: connect() fails EADDRNOTAVAIL after 10 probes (art. 002); tw_reuse=%s does not help" % reuse)
        measured = "%d probes, %d failed %s, TIME_WAIT peak %d" % (n, f, ",".join(((r.get("probes") or {}).get("failed") or {}).keys()) or "", peak(r, "client", "TIME_WAIT"))
        if expect_ok:
            verdict = "confirmed" if f == 0 else "refuted"
        else:
            verdict = "confirmed" if f == n - 10 else "refuted"
            if reuse == 1 and ts == 0 and verdict == "confirmed":
                verdict = "confirmed (no timestamps, no reuse)"
        row("port-exhaustion-tw-reuse " + cid, claim, measured, verdict)


def connect_latency(c):
    cell = c.get(("connect-latency-time-wait", ""))
    if not cell or not runs(cell):
        return
    r = runs(cell)[0]
    series = [p for p in (r.get("probes") or {}).get("series", []) if p.get("connect_p50_ms") is not None]
    if len(series) < 2:
        return
    full = float(max(p["time_wait"] for p in series)) or 1.0  # the TIME_WAIT reached
    early = [p for p in series if p["time_wait"] < 0.25 * full and p["connect_p50_ms"] > 0]
    late = [p for p in series if p["time_wait"] >= 0.75 * full]
    med = lambda xs: sorted(xs)[len(xs) // 2] if xs else None
    e50, l50 = med([p["connect_p50_ms"] for p in early]), med([p["connect_p50_ms"] for p in late])
    e99, l99 = med([p["connect_p99_ms"] for p in early]), med([p["connect_p99_ms"] for p in late])
    pr = r.get("probes") or {}
    txt = "connect p50 %.3f ms / p99 %.3f ms while TIME_WAIT < 25%% of its peak; p50 %s / p99 %s ms above 75%%; TIME_WAIT peak %d of 28,232 ports, %d failures, %s probes/s" % (
        e50 or 0, e99 or 0, "%.3f" % l50 if l50 is not None else "n/a", "%.3f" % l99 if l99 is not None else "n/a",
        peak(r, "client", "TIME_WAIT"), failures(r), pr.get("per_second"))
    verdict = "confirmed" if (l50 is not None and e50 and l50 > 1.5 * e50) else ("nuanced: slower tail only" if (l99 and e99 and l99 > 1.5 * e99) else "refuted")
    row("connect-latency-time-wait", "As TIME_WAIT fills the ephemeral range each connect() gets slower (the port search grows), then EADDRNOTAVAIL", txt, verdict)


def close_wait(c):
    for cid in ("behavior=hold", "behavior=echo"):
        cell = c.get(("close-wait-leak", cid))
        if not cell or not runs(cell):
            continue
        r = runs(cell)[0]
        n = (r.get("probes") or {}).get("attempted", 0)
        cw = peak(r, "server", "CLOSE_WAIT")
        ok = cw == n if cid == "behavior=hold" else cw <= 1
        row("close-wait-leak " + cid,
            "CLOSE_WAIT piles up on the side that received FIN but never calls close() (art. 002)" if cid == "behavior=hold"
            else "A server that closes on EOF leaks no CLOSE_WAIT",
            "%d probes: server CLOSE_WAIT peak %d; prober FIN_WAIT2 peak %d, TIME_WAIT peak %d" % (
                n, cw, peak(r, "client", "FIN_WAIT2"), peak(r, "client", "TIME_WAIT")),
            "confirmed" if ok else "refuted")


def proxy(c):
    for (name, cid), cell in sorted(c.items()):
        if name != "proxy-time-wait" or not runs(cell):
            continue
        r = runs(cell)[0]
        p = cell["params"]
        lng, up = p.get("/server/socket/linger"), p.get("/upstream_server/close")
        tw = {h: peak(r, h, "TIME_WAIT") for h in ("client", "proxy", "server")}
        n = (r.get("probes") or {}).get("attempted", 0)
        if lng == "off" and up == "never":
            claim, ok = "A reverse proxy closing upstream connections is the active closer: TIME_WAIT lands on the proxy (art. 003)", tw["proxy"] == n and tw["server"] == 0
        elif lng == "0s":
            claim, ok = "SO_LINGER 0 on the proxy removes its TIME_WAIT (RST instead of FIN) (art. 000/003)", tw["proxy"] == 0
        else:
            claim, ok = "If the origin closes first, the TIME_WAIT moves to the origin", tw["server"] > 0 and tw["server"] + tw["proxy"] == n
        verdict = "confirmed" if ok else "refuted"
        if ok and lng == "off" and up == "after-response" and tw["proxy"] > 0:
            verdict = "nuanced: a race per connection, %d still closed first on the proxy" % tw["proxy"]
        row("proxy-time-wait " + cid, claim, "%d requests: TIME_WAIT client %d, proxy %d, origin %d" % (n, tw["client"], tw["proxy"], tw["server"]), verdict)


def parse_secs(s):
    return float(s[:-2]) / 1000 if s.endswith("ms") else float(s[:-1])


def idle_keepalive(c):
    for (name, cid), cell in sorted(c.items()):
        if name != "half-open-idle-keepalive" or not runs(cell):
            continue
        ka = cell["params"].get("/client/socket/keepalive")
        r = runs(cell)[0]
        if ka == "off":
            row("half-open-idle-keepalive " + cid, "Without keepalive an idle socket never notices a dead peer", det(r),
                "confirmed" if r["outcome"] == "undetected" else "refuted")
            continue
        idle, intvl, cnt = parse_secs(ka["idle"]), parse_secs(ka["interval"]), ka["count"]
        total = idle + intvl * cnt
        if total > 600:
            row("half-open-idle-keepalive " + cid, "Kernel-default keepalive (7200 + 75 x 9 s = %.0f s) is useless against a dead peer within seconds" % total,
                det(r), "confirmed" if r["outcome"] == "undetected" else "refuted")
            continue
        died = (r.get("fault_ms") or 0) + (r.get("detection_ms") or 0)
        expected = idle + total  # the probe at KEEPIDLE was still answered (fault later)
        ok = r["outcome"] == "detected" and abs(died / 1000 - expected) <= 0.35
        row("half-open-idle-keepalive " + cid,
            "Idle socket + keepalive: dead after KEEPIDLE + KEEPINTVL x KEEPCNT = %.0f s of silence (art. 002/004)" % total,
            "%s; connection died %.2f s after connect = last answer at %.0f s + %.2f s" % (det(r), died / 1000, idle, died / 1000 - idle),
            "confirmed" if ok else "refuted")


def zero_window(c):
    for (name, cid), cell in sorted(c.items()):
        if name not in ("zero-window", "zero-window-pause") or not runs(cell):
            continue
        ut = cell["params"].get("/client/socket/tcp_user_timeout")
        r = runs(cell)[0]
        if ut == "off":
            claim = "A zero-window sender probes for as long as the peer ACKs: tcp_retries2 and keepalive never end it (art. 004)"
            ok = r["outcome"] == "undetected"
            verdict = "confirmed" if ok else "refuted"
        else:
            t = parse_secs(ut)
            claim = "TCP_USER_TIMEOUT=%s also bounds zero-window probing (tcp(7))" % ut
            d = r.get("detection_ms")
            ok = r["outcome"] == "detected" and r.get("error") == "ETIMEDOUT" and d is not None and d >= t * 1000
            verdict = ("nuanced: counted from the first window probe, one RTO after the window closed (+%.0f ms)" % (d - t * 1000)) if ok else "refuted"
        row(name + " " + cid, claim, det(r), verdict)


def app_timeout(c):
    for (name, cid), cell in sorted(c.items()):
        if name != "app-read-timeout" or not runs(cell):
            continue
        p = cell["params"]
        r = runs(cell)[0]
        if p.get("/client/app_timeout") != "off" or p.get("/client/socket/rcvtimeo") != "off":
            which = "app timeout (poll)" if p.get("/client/app_timeout") != "off" else "SO_RCVTIMEO"
            ok = r["outcome"] == "detected" and r.get("error") in ("app_timeout", "EAGAIN")
            row("app-read-timeout " + cid, "An application read timeout (%s) fires regardless of the peer's state, with EAGAIN or a timeout (art. 004)" % which,
                det(r) + "; the read began %.2f s before the fault" % ((r.get("fault_ms") or 0) / 1000), "confirmed" if ok else "refuted")


def node_crash(c):
    for (name, cid), cell in sorted(c.items()):
        if name != "node-crash-under-load" or not runs(cell):
            continue
        r = runs(cell)[0]
        ph = {p["phase"]: p for p in (r.get("requests") or {}).get("phases", [])}
        if not all(k in ph for k in ("before", "during", "after")):
            continue
        fmt = lambda p: "%.0f tps, p99 %s ms, %d errors" % (p["tps"], p["p99_ms"], p["errors"])
        txt = "before: %s | during: %s | after: %s | first error %s" % (fmt(ph["before"]), fmt(ph["during"]), fmt(ph["after"]), det(r))
        # No request completing during the outage (tps 0, p99 null) is the extreme of "TPS drops";
        # the queued requests then complete late, so the after-phase p99 carries the explosion.
        worst_p99 = max(ph["during"]["p99_ms"] or 0, ph["after"]["p99_ms"] or 0)
        ok = ph["during"]["tps"] < ph["before"]["tps"] and worst_p99 > 10 * (ph["before"]["p99_ms"] or 0)
        at = cell["params"].get("/client/app_timeout")
        claim = ("A node power-off under load: TPS drops and P99 explodes until the client's read timeout recycles the connections (art. 004)" if at != "off"
                 else "Without a read timeout the half-open connections wait until the node is back and answers with RST (ECONNRESET)")
        verdict = "confirmed" if ok else "refuted"
        if ok and at == "off" and r.get("error") != "ECONNRESET":
            verdict = "refuted"
        row("node-crash-under-load " + cid, claim, txt, verdict)


def raw_option(c):
    named = raw = None
    for (name, cid), cell in c.items():
        if name == "raw-socket-options" and runs(cell):
            if "raw" in cid:
                raw = runs(cell)[0]
            else:
                named = runs(cell)[0]
    if named and raw:
        ok = (named.get("error") == raw.get("error") == "ETIMEDOUT" and
              abs((named.get("detection_ms") or 0) - (raw.get("detection_ms") or 0)) <= 450)
        row("raw-socket-options", "Envoy/Istio raw option {level 6, name 18, int 2000} is TCP_USER_TIMEOUT 2 s (background fact 7)",
            "named: %s; raw: %s" % (det(named), det(raw)), "confirmed" if ok else "refuted")


def curl(c):
    for (name, cid), cell in sorted(c.items()):
        if name != "curl-blackhole" or not runs(cell):
            continue
        r = runs(cell)[0]
        if cid.endswith("[]"):
            row("curl-blackhole (no fault)", "curl against a live server exits 0", det(r) + ", exit %s" % (r.get("command") or {}).get("exit"),
                "confirmed" if r["outcome"] == "undetected" else "refuted")
        else:
            row("curl-blackhole (blackhole)", "curl --max-time 2 to a vanished host exits 28 after 2 s (curl(1))", det(r),
                "confirmed" if r.get("error") == "exit:28" else "refuted")


# --------------------------------------------------------------------------- real software (scenarios/gallery)


def counter(run, host, name):
    return (((run.get("tcp_counters") or {}).get(host) or {}).get(name, 0))


def first(c, name, cid):
    cell = c.get((name, cid))
    return runs(cell)[0] if cell and runs(cell) else None


def skipped(c, name):
    for (n, cid), cell in sorted(c.items()):
        if n == name:
            for r in cell.get("runs", []):
                if r.get("outcome") == "skipped":
                    row(name, "(real program)", "skipped: %s" % r.get("error_detail"), "not run")
                    return True
    return False


def tw(run):
    return "TIME_WAIT client %d, proxy %d, origin %d" % (peak(run, "client", "TIME_WAIT"), peak(run, "proxy", "TIME_WAIT"),
                                                        peak(run, "server", "TIME_WAIT"))


def gallery_nginx(c):
    if skipped(c, "nginx-proxy"):
        return
    plain = first(c, "nginx-proxy", "nginx.conf={dir}/nginx-proxy.conf.in")
    ka = first(c, "nginx-proxy", "nginx.conf={dir}/nginx-proxy-keepalive.conf.in")
    if plain:
        p = peak(plain, "proxy", "TIME_WAIT")
        row("nginx-proxy (defaults)", "nginx with HTTP/1.0 on both sides is the active closer on both: TIME_WAIT on the proxy for both connections (art. 003)",
            "200 requests: " + tw(plain), "confirmed" if p > 200 else "refuted")
    if ka and plain:
        row("nginx-proxy (upstream keepalive)", "keepalive + proxy_http_version 1.1 to the upstream removes the upstream half (nginx docs)",
            "200 requests: " + tw(ka), "confirmed" if peak(ka, "proxy", "TIME_WAIT") <= 200 else "refuted")


def gallery_haproxy(c):
    if skipped(c, "haproxy-nolinger"):
        return
    plain = first(c, "haproxy-nolinger", "haproxy.cfg={dir}/haproxy.cfg.in")
    nl = first(c, "haproxy-nolinger", "haproxy.cfg={dir}/haproxy-nolinger.cfg.in")
    if plain and nl:
        fewer = peak(nl, "proxy", "TIME_WAIT") < peak(plain, "proxy", "TIME_WAIT")
        row("haproxy-nolinger", "option nolinger: RST on close, no TIME_WAIT on HAProxy, at a price (HAProxy manual)",
            "200 HTTP/1.0 requests: default %s, proxy RSTs %d; nolinger %s, proxy RSTs %d" % (
                tw(plain), counter(plain, "proxy", "Tcp.OutRsts"), tw(nl), counter(nl, "proxy", "Tcp.OutRsts")),
            ("nuanced: fewer, not none (connections whose FINs crossed before the close keep theirs); "
             "toward the origin HAProxy resets in both") if fewer and peak(nl, "proxy", "TIME_WAIT") else
            ("confirmed" if fewer else "refuted"))


def gallery_redis(c):
    if skipped(c, "redis-keepalive"):
        return
    on, off = first(c, "redis-keepalive", "8=1"), first(c, "redis-keepalive", "8=0")
    if on:
        ms = cleared(on, "server", "ESTABLISHED")
        row("redis-keepalive tcp-keepalive 1", "Redis's tcp-keepalive N (TCP_KEEPIDLE N, KEEPINTVL N/3, KEEPCNT 3) drops a dead idle client after N + 3 x max(1, N/3) s (anet.c)",
            "server's connection gone %s after the client's crash (census, up to 1 s late; 4 s after its last packet expected)" % sec(ms),
            "confirmed" if ms is not None and 3400 <= ms <= 4700 else "refuted")
    if off:
        ms = cleared(off, "server", "ESTABLISHED")
        row("redis-keepalive tcp-keepalive 0", "Without tcp-keepalive the dead client's connection stays",
            "server's connection gone: %s (observed 5 s; the cell's end stops Redis)" % sec(ms),
            "confirmed" if ms is None or ms >= 5000 else "refuted")


def gallery_postgres(c):
    if skipped(c, "postgres-keepalive"):
        return
    base = "5=host=server port={port} user=postgres dbname=postgres"
    for suffix, claim, lo, hi in [
            ("", "libpq's defaults (keepalives on, kernel idle 7200 s): psql waits on a dead server", None, None),
            (" keepalives_idle=1 keepalives_interval=1 keepalives_count=3", "keepalives 1/1/3: psql notices 3-4 s after the crash", 3000, 4200),
            (" keepalives_idle=1 keepalives_interval=1 keepalives_count=3 tcp_user_timeout=1500",
             "+ tcp_user_timeout=1500: the probe count is ignored, dropped 2 intervals after the last answer (1-2 s)", 1000, 2200),
            (" tcp_user_timeout=1500", "tcp_user_timeout alone does nothing for an idle wait (no unacknowledged data)", None, None)]:
        r = first(c, "postgres-keepalive", base + suffix)
        if not r:
            continue
        if lo is None:
            ok = r.get("outcome") == "undetected"
        else:
            ok = r.get("outcome") == "detected" and lo <= r.get("detection_ms", -1) <= hi
        row("postgres-keepalive" + (suffix or " (defaults)"), claim, det(r), "confirmed" if ok else "refuted")


def printed_ms(run, before):
    out = (run.get("command") or {}).get("stdout") or ""
    at = out.find(before)
    if at < 0:
        return None
    try:
        return float(out[at + len(before):].split()[0])
    except ValueError:
        return None


def gallery_java(c):
    if skipped(c, "java-sotimeout"):
        return
    t, n = first(c, "java-sotimeout", "6=2000"), first(c, "java-sotimeout", "6=0")
    if t:
        ms = printed_ms(t, "SocketTimeoutException after ")
        row("java-sotimeout setSoTimeout(2000)", "Socket.setSoTimeout: SocketTimeoutException after the timeout on a half-open server (art. 004, JMeter)",
            "%s; the read itself: %s ms" % (det(t), ms), "confirmed" if t.get("error") == "exit:3" and ms and 2000 <= ms <= 2100 else "refuted")
    if n:
        ms = printed_ms(n, "Connection timed out ")
        row("java-sotimeout setSoTimeout(0)", "Without it the read waits for the kernel: tcp_retries2 (2 here: 3 s after the first retransmission; default 15: ~15 min)",
            "%s; the request itself: %s ms" % (det(n), ms), "confirmed" if n.get("error") == "exit:5" and ms and 3000 <= ms <= 3460 else "refuted")


def gallery_go(c):
    if not skipped(c, "go-linger"):
        d, z = first(c, "go-linger", "8=default"), first(c, "go-linger", "8=0")
        if d and z:
            row("go-linger", "SetLinger(0) before Close: RST, no TIME_WAIT on the client (art. 000, EaseProbe fix of art. 001)",
                "200 connections: TIME_WAIT %d by default, %d with SetLinger(0) (client RSTs %d)" % (
                    peak(d, "client", "TIME_WAIT"), peak(z, "client", "TIME_WAIT"), counter(z, "client", "Tcp.OutRsts")),
                "confirmed" if peak(d, "client", "TIME_WAIT") == 200 and peak(z, "client", "TIME_WAIT") == 0 else "refuted")
    if not skipped(c, "go-keepalive"):
        d, f = first(c, "go-keepalive", "8=default"), first(c, "go-keepalive", "8=1s")
        if d:
            row("go-keepalive (default)", "Go's default 15 s keepalive (KEEPIDLE = KEEPINTVL = 15 s): a dead server noticed 30 s after the last packet with 1 probe",
                det(d), "confirmed" if d.get("error") == "exit:3" and 28400 <= d.get("detection_ms", 0) <= 29100 else "refuted")
        if f:
            row("go-keepalive KeepAlive 1s", "net.Dialer{KeepAlive: time.Second}: 3 s after the last packet",
                det(f), "confirmed" if f.get("error") == "exit:3" and 1400 <= f.get("detection_ms", 0) <= 1700 else "refuted")


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    cells = {}
    for path in argv[1:]:
        with open(path) as f:
            cells.update(cells_of(json.load(f)))
    for fn in (probe_time_wait, fin_timeout, port_exhaustion, connect_latency, close_wait, proxy, idle_keepalive,
               busy_sender, zero_window, app_timeout, node_crash, raw_option, curl, gallery_nginx, gallery_haproxy,
               gallery_redis, gallery_postgres, gallery_java, gallery_go):
        fn(cells)
    print("| scenario | claim | measured | verdict |")
    print("|---|---|---|---|")
    for s, claim, measured, verdict in ROWS:
        esc = lambda t: str(t).replace("|", "\\|")
        print("| %s | %s | %s | %s |" % (esc(s), esc(claim), esc(measured), esc(verdict)))
    if not ROWS:
        print("| (none) | no known scenario in the results | | not run |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
