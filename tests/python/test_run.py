# sockchaos.run: the same results as the CLI, attribute access, GIL release and Ctrl-C.
import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import sockchaos
from conftest import BUILD_PYTHON_HINT, SCENARIOS, children_of, require_features
from test_validate import small_scenario

SHIPPED = os.path.join(SCENARIOS, "half-open-idle-keepalive.json")


def keys_tree(value):
    """The structure of a results value: object keys (recursively), not values. Timelines
    and other lists are reduced to the keys their items use."""
    if isinstance(value, dict):
        return {k: keys_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        merged = {}
        for item in value:
            if isinstance(item, dict):
                for k, v in keys_tree(item).items():
                    merged.setdefault(k, v)
        return [merged] if merged else []
    return type(value).__name__ if value is not None else "null"


def test_run_matches_the_cli_on_a_shipped_scenario(sockchaos_run, cli, tmp_path):
    cli_out = tmp_path / "cli"
    # Both at once: separate namespaces, and it halves the wait.
    proc = subprocess.Popen([cli, "run", SHIPPED, "-o", str(cli_out)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    results = sockchaos_run(SHIPPED)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    mine = results.to_dict()
    theirs = json.loads((cli_out / "results.json").read_text())

    assert set(mine) == set(theirs) == {"version", "kernel", "started", "scenarios", "summary"}
    assert mine["version"] == theirs["version"] and mine["kernel"] == theirs["kernel"]
    assert mine["summary"] == theirs["summary"]
    assert [s["name"] for s in mine["scenarios"]] == [s["name"] for s in theirs["scenarios"]]
    assert mine["scenarios"][0]["file"] == theirs["scenarios"][0]["file"] == SHIPPED
    for a, b in zip(mine["scenarios"][0]["cells"], theirs["scenarios"][0]["cells"]):
        assert (a["id"], a["params"]) == (b["id"], b["params"])
        assert [e["check"] for e in a["expectations"]] == [e["check"] for e in b["expectations"]]
        assert [e["passed"] for e in a["expectations"]] == [e["passed"] for e in b["expectations"]]
        for ra, rb in zip(a["runs"], b["runs"]):
            assert set(ra) == set(rb)
            for key in ("outcome", "error", "mechanism", "syscall"):
                assert ra[key] == rb[key], key
            if ra["detection_ms"] is None:
                assert rb["detection_ms"] is None
            else:
                assert abs(ra["detection_ms"] - rb["detection_ms"]) <= 300
    # Same structure all the way down (keys and value types, timelines reduced to their keys).
    assert keys_tree(mine["summary"]) == keys_tree(theirs["summary"])
    for a, b in zip(mine["scenarios"][0]["cells"], theirs["scenarios"][0]["cells"]):
        assert set(a) == set(b)
        assert keys_tree(a["runs"])[0].keys() == keys_tree(b["runs"])[0].keys()

    # Attribute access mirrors the dict.
    assert results.passed
    assert len(results.cells) == len(theirs["scenarios"][0]["cells"]) == 6
    by_id = {c.id: c for c in results.cells}
    keepalive = next(c for c in results.cells if '"idle":"1s"' in c.id and "kind=blackhole" in c.id)
    run = keepalive.runs[0]
    assert run.outcome == "detected" and run.error == "ETIMEDOUT" and run.mechanism == "keepalive"
    assert 2900 <= run.detection_ms <= 4300
    assert run.sockets["client"]["peak"]["ESTABLISHED"] == 1
    assert run.probes == {"attempted": 0, "succeeded": 0, "failed": {}}
    assert any(e.get("event") == "fault" for e in run.timeline)
    off = by_id["keepalive=off kind=blackhole"].runs[0]
    assert off.outcome == "undetected" and off.detection_ms is None and off.error is None
    assert keepalive.scenario == "half-open-idle-keepalive" and keepalive.passed
    assert results.scenarios[0].name == "half-open-idle-keepalive"
    with pytest.raises(AttributeError):
        run.no_such_key
    # The typed fields hold what results.json says, for every run.
    for c, raw_cell in zip(results.cells, mine["scenarios"][0]["cells"]):
        assert (c.id, c.params, c.summary) == (raw_cell["id"], raw_cell["params"], raw_cell["summary"])
        assert [(e.check, e.passed, e.detail) for e in c.expectations] == [
            (e["check"], e["passed"], e["detail"]) for e in raw_cell["expectations"]]
        for r, raw_run in zip(c.runs, raw_cell["runs"]):
            for f in dataclasses.fields(r):
                if f.name in raw_run:
                    assert getattr(r, f.name) == raw_run[f.name], f.name
            assert r.extra == {k: v for k, v in raw_run.items()
                               if k not in {f.name for f in dataclasses.fields(r)}}


def test_run_a_dict(sockchaos_run):
    doc = small_scenario(expect=[{"error": "ECONNRESET", "mechanism": "rst", "detected_within": "1s"}])
    results = sockchaos_run(doc)
    (cell,) = results.cells
    run = cell.runs[0]
    assert run.outcome == "detected" and run.error == "ECONNRESET" and run.mechanism == "rst"
    assert run.detection_ms < 1000
    assert results.to_dict()["scenarios"][0]["file"] == "<dict>"
    failed = [(e.check, e.detail) for e in cell.expectations if not e.passed]
    assert results.passed and cell.passed, (failed, run.to_dict())
    json.dumps(results.to_dict())  # plain JSON values all the way


def test_run_a_folder_and_a_failed_expectation(sockchaos_run, tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(small_scenario(name="py-a")))
    (tmp_path / "b.json").write_text(json.dumps(small_scenario(
        name="py-b", expect=[{"error": "ETIMEDOUT"}])))  # it will be ECONNRESET
    results = sockchaos_run(str(tmp_path), jobs=2)
    assert [s.name for s in results.scenarios] == ["py-a", "py-b"]
    assert [c.scenario for c in results.cells] == ["py-a", "py-b"]
    assert not results.passed
    assert results.cells[0].passed and not results.cells[1].passed
    assert results.summary["expectations_failed"] == 1


def two_cells():
    return small_scenario(name="py-cells", matrix={"/faults/0/at": ["300ms", "200ms"]})


def test_cell_filter_runs_only_the_matching_cells(sockchaos_run):
    results = sockchaos_run(two_cells(), cell_filter="at=200ms$")
    assert [c.id for c in results.cells] == ["at=200ms"]
    assert results.summary["cells"] == 1


def test_filter_still_works_with_a_deprecation_warning(sockchaos_run):
    with pytest.warns(DeprecationWarning, match="cell_filter") as record:
        results = sockchaos.run(two_cells(), filter="py-cells/at=300ms")
    assert [c.id for c in results.cells] == ["at=300ms"]
    assert [w.filename for w in record] == [__file__]  # it names the caller's line
    # The plugin's sockchaos_run too.
    with pytest.warns(DeprecationWarning, match="cell_filter") as record:
        results = sockchaos_run(two_cells(), filter="at=200ms")
    assert [c.id for c in results.cells] == ["at=200ms"]
    assert [w.filename for w in record] == [__file__]


def test_the_gil_is_released_while_cells_run():
    require_features()
    done = threading.Event()
    box = {}

    def worker():
        box["results"] = sockchaos.run(small_scenario())
        done.set()

    t = threading.Thread(target=worker)
    t.start()
    ticks = 0
    start = time.monotonic()
    while not done.is_set() and time.monotonic() - start < 30:
        ticks += 1
        time.sleep(0.005)
    t.join(30)
    assert box["results"].cells[0].runs[0].outcome == "detected"
    # With the GIL held for the whole run this thread would barely tick.
    assert ticks > 0.3 * (time.monotonic() - start) / 0.005


CTRL_C_RUN = textwrap.dedent(r"""
    import json, os, sys, time, sockchaos
    sys.path.insert(0, sys.argv[1])
    from conftest import children_of
    doc = json.loads(sys.argv[2])
    t0 = time.monotonic()
    try:
        sockchaos.run(doc)
        print("finished", flush=True)
    except KeyboardInterrupt:
        print("interrupted after %.1f s, children %d" % (time.monotonic() - t0, len(children_of(os.getpid()))),
              flush=True)
        sys.exit(42)
""")


def long_wait(name, **extra):
    """An idle client and a blackhole with keepalive off: each cell would wait its full 30 s."""
    doc = {
        "name": name,
        "server": {"on": "server", "port": 7000, "behavior": "echo"},
        "client": {"on": "client", "connect": "server:7000", "workload": {"kind": "idle"}},
        "faults": [{"kind": "blackhole", "on": "server", "at": "200ms"}],
        "deadline": "30s",
    }
    doc.update(extra)
    return doc


def ctrl_c_after(args, seconds=2.0, **popen):
    """Starts args, sends SIGINT after `seconds`; returns (proc, stdout, stderr, the pids of its
    children just before the signal)."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)
    try:
        time.sleep(seconds)
        children = children_of(proc.pid)
        proc.send_signal(2)
        out, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
    return proc, out, err, children


def test_ctrl_c_interrupts_a_run_and_cleans_up():
    require_features()
    doc = long_wait("py-long")
    proc, out, err, agents = ctrl_c_after(
        [sys.executable, "-c", CTRL_C_RUN, os.path.dirname(__file__), json.dumps(doc)],
        env=dict(os.environ, PYTHONPATH=BUILD_PYTHON_HINT))
    assert proc.returncode == 42, out + err
    assert "children 0" in out
    seconds = float(out.split("after ")[1].split(" s")[0])
    assert seconds < 10
    assert agents  # the agents were running, and are gone now
    for pid in agents:
        assert not os.path.exists("/proc/%d" % pid) or open("/proc/%d/stat" % pid).read().split()[2] == "Z"


def test_a_ctrl_c_d_cli_run_reads_back_as_interrupted_results(cli, tmp_path):
    require_features()
    # Two cells of a 30 s wait run at once (-j 2); Ctrl-C after 2 s cuts both short.
    doc = long_wait("py-cut", matrix={"/client/socket/rcvbuf": [65536, 131072]})
    path = tmp_path / "cut.json"
    path.write_text(json.dumps(doc))
    out = tmp_path / "out"
    proc, _, err, _ = ctrl_c_after([cli, "run", str(path), "-j", "2", "-o", str(out)])
    assert proc.returncode == 130, err
    raw = json.loads((out / "results.json").read_text())
    results = sockchaos.Results.from_dict(raw)
    assert results.interrupted is True
    assert len(results.cells) == 2 and all(c.interrupted for c in results.cells)
    for c in results.cells:
        assert [r.outcome for r in c.runs] == ["error"] and c.runs[0].error_detail == "interrupted"
        assert not c.passed
    assert not results.passed
    assert results.to_dict() == raw
