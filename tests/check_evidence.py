#!/usr/bin/python3
"""Every run of a results.json carries its evidence (issue 11): the kernel's model, a mechanism
basis, a duration_ms that covers its workload_end_ms, tcp_info samples of the workload's sockets
(wherever a census pass saw a socket that has tcp_info: a run whose sockets were never alive at a
pass, e.g. ten probes in 2 ms, is named in a note) and a capture per host that tshark (the
independent oracle) can read.

    tests/check_evidence.py RESULTS.json        (scripts/run-tests.sh runs it on the shipped run)

Exit 0 when every run that ran (not errored, not skipped) has all four, 1 otherwise (each gap
named), 2 for unusable input. tshark missing: the capture check is skipped and said so.
"""
import json
import os
import re
import shutil
import subprocess
import sys


# States whose sockets are full sockets with tcp_info; TIME_WAIT and an orphaned FIN_WAIT2 are
# timewait minisocks (inet_diag gives no INET_DIAG_INFO for them), LISTEN is not the workload's.
LIVE = {"SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT1", "CLOSE_WAIT", "LAST_ACK", "CLOSING"}


def saw_live_socket(run):
    for e in run.get("timeline", []):
        for states in (e.get("sockets") or {}).values():
            if any(states.get(s, 0) > 0 for s in LIVE):
                return True
    return False


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    path = argv[1]
    try:
        with open(path, encoding="utf-8") as f:
            results = json.load(f)
    except (OSError, ValueError) as e:
        print(f"{path}: {e}", file=sys.stderr)
        return 2
    base = os.path.dirname(os.path.abspath(path))
    tshark = shutil.which("tshark")
    if not tshark:
        print("tshark is not installed: captures not checked (scripts/deps.sh test installs it)", file=sys.stderr)
    gaps, notes, runs, files = [], [], 0, 0
    # Scenarios whose own file turns the capture off ("capture": false) are not gaps.
    off_by_file = set()
    for scenario in results.get("scenarios", []):
        try:
            with open(scenario.get("file") or "", encoding="utf-8") as f:
                if re.search(r'"capture"\s*:\s*false', f.read()):
                    off_by_file.add(scenario.get("name"))
        except OSError:
            pass
    for scenario in results.get("scenarios", []):
        for cell in scenario.get("cells", []):
            where = f"{scenario.get('name')}/{cell.get('id') or 'default'}"
            for i, run in enumerate(cell.get("runs", [])):
                if run.get("outcome") in ("error", "skipped"):
                    continue
                runs += 1
                at = f"{where} run {i + 1}"
                model = run.get("model")
                if not isinstance(model, dict) or not model.get("formula") or "holds" not in model:
                    gaps.append(f"{at}: no model")
                if not run.get("mechanism_basis"):
                    gaps.append(f"{at}: no mechanism_basis")
                # duration_ms counts from the client's start, workload_end_ms from the workload's base
                # (the agent's start or ready, or the command's exec), which comes later: a duration
                # shorter than the workload is a clock read at the wrong moment (results.json rounds
                # both to 0.1 ms).
                dur, end = run.get("duration_ms"), run.get("workload_end_ms")
                if isinstance(dur, (int, float)) and isinstance(end, (int, float)) and dur + 0.1 < end:
                    gaps.append(f"{at}: duration_ms {dur} is shorter than workload_end_ms {end}")
                if not run.get("tcp_info"):
                    if saw_live_socket(run):
                        gaps.append(f"{at}: no tcp_info samples")
                    else:
                        notes.append(f"{at}: no tcp_info: no census pass saw a socket with tcp_info "
                                     "(only TIME_WAIT / LISTEN / orphaned FIN_WAIT2, or none)")
                capture = run.get("capture") or {}
                if not capture.get("enabled"):
                    if capture.get("error"):
                        gaps.append(f"{at}: capture failed ({capture['error']})")
                    elif scenario.get("name") in off_by_file:
                        notes.append(f"{at}: capture off (\"capture\": false in the scenario file)")
                    else:
                        gaps.append(f"{at}: capture not enabled (no error given)")
                    continue
                hosts = capture.get("hosts") or {}
                if not hosts:
                    gaps.append(f"{at}: capture has no hosts")
                for host, h in hosts.items():
                    name = h.get("file")
                    if not name:
                        gaps.append(f"{at}: {host}: no capture file ({h.get('error', '')})")
                        continue
                    file = os.path.join(base, name)
                    if not os.path.isfile(file):
                        gaps.append(f"{at}: {host}: {name} is missing")
                        continue
                    if tshark:
                        files += 1
                        p = subprocess.run([tshark, "-r", file, "-c", "1"], capture_output=True, text=True,
                                           timeout=60)
                        if p.returncode != 0 or not p.stdout.strip():
                            gaps.append(f"{at}: {host}: tshark cannot read {name}: {p.stderr.strip()[:200]}")
    for n in notes:
        print("note: " + n, file=sys.stderr)
    for g in gaps:
        print(g)
    print(f"{runs} runs checked, {files} captures read by tshark, {len(gaps)} gap(s)", file=sys.stderr)
    return 1 if gaps else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
