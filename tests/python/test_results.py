# The typed results (sockchaos.results) on results.json documents made here: parsing, the keys
# a newer sockchaos adds, error runs, to_dict() exactness, the pass rule. No privilege needed.
import copy
import dataclasses
import json

import pytest

import sockchaos
from sockchaos.results import Cell, Expectation, Results, Run, ScenarioResults


def detected_run(**overrides):
    """A run as the runner writes it (the keys and value types of a real results.json)."""
    run = {
        "outcome": "detected", "detection_ms": 1204.7, "before_fault": True, "error": "ETIMEDOUT",
        "syscall": "send", "mechanism": "tcp_user_timeout", "fault_ms": 1500.2, "workload_end_ms": None,
        "deadline_ms": 5000.0, "duration_ms": 2900.1,
        "sockets": {"client": {"peak": {"ESTABLISHED": 1, "FIN_WAIT1": 1},
                               "cleared_ms": {"ESTABLISHED": 3.6, "FIN_WAIT1": None},
                               "time_wait_cleared_ms": None}},
        "probes": {"attempted": 20, "succeeded": 19, "failed": {"EADDRNOTAVAIL": 1}, "per_second": 99.5,
                   "connect_ms": {"p50": 0.08, "p99": 0.46, "max": 0.5},
                   "series": [{"t_ms": 99.5, "attempted": 10, "failed": 0, "connect_p50_ms": 0.082,
                               "connect_p99_ms": None, "time_wait": 0}]},
        "requests": {"phases": [{"phase": "all", "start_ms": 0.1, "end_ms": 2000.8, "requests": 800, "errors": 0,
                                 "tps": 399.9, "p50_ms": 0.17, "p90_ms": 1.06, "p99_ms": 2.92, "max_ms": 4.2,
                                 "mean_ms": None}]},
        "command": {"argv": ["curl", "-sS"], "exit": 0, "stdout": "", "stderr": "",
                    "server": {"argv": ["nginx"], "stdout": "", "stderr": ""}},
        "tcp_counters": {"client": {"Tcp.RetransSegs": 3, "TcpExt.TCPTimeouts": 2}},
        "faults": [{"label": "blackhole on server (both)", "installed_ms": 1500.2, "healed_ms": None}],
        "timeline": [{"t_ms": 0.0, "sockets": {"client": {"ESTABLISHED": 1}}},
                     {"t_ms": 1500.2, "event": "fault", "detail": "blackhole on server (both)"}],
    }
    run.update(overrides)
    return run


def error_run():
    """A run that failed to run (runner.cpp CellRun::fail): no syscall, fault_ms, ... keys."""
    return {"outcome": "error", "detection_ms": None, "error": None, "mechanism": None,
            "error_detail": "agent exited before ready", "sockets": {},
            "probes": {"attempted": 0, "succeeded": 0, "failed": {}}, "timeline": []}


def cell(cell_id, runs, passed=(True,)):
    detected = [r["detection_ms"] for r in runs if r["outcome"] == "detected"]
    summary = {"runs": len(runs), "detected": len(detected)}
    if detected:
        summary["detection_ms"] = {"min": min(detected), "median": detected[0], "max": max(detected)}
    return {"id": cell_id, "params": {"/client/socket/tcp_user_timeout": "1s"}, "runs": runs,
            "expectations": [{"check": "error", "passed": p, "detail": "ETIMEDOUT"} for p in passed],
            "summary": summary}


def document(cells, **summary):
    runs = [r for c in cells for r in c["runs"]]
    expectations = [e for c in cells for e in c["expectations"]]
    totals = {"cells": len(cells), "runs": len(runs),
              "expectations_passed": sum(e["passed"] for e in expectations),
              "expectations_failed": sum(not e["passed"] for e in expectations),
              "errors": sum(r["outcome"] == "error" for r in runs)}
    totals.update(summary)
    return {"version": "sockchaos 0.1.0", "kernel": "6.1.0", "started": "2026-12-01T08:09:19Z",
            "scenarios": [{"name": "py-typed", "file": "<dict>", "description": "typed results",
                           "matrix_axes": ["/client/socket/tcp_user_timeout"], "cells": cells}],
            "summary": totals}


def test_fields_mirror_results_json():
    doc = document([cell("tcp_user_timeout=1s", [detected_run()])])
    results = Results.from_dict(doc)
    assert (results.version, results.kernel, results.started) == ("sockchaos 0.1.0", "6.1.0", "2026-12-01T08:09:19Z")
    assert results.summary == doc["summary"]
    (scenario,) = results.scenarios
    assert isinstance(scenario, ScenarioResults)
    assert (scenario.name, scenario.file, scenario.description) == ("py-typed", "<dict>", "typed results")
    assert scenario.matrix_axes == ["/client/socket/tcp_user_timeout"]
    (c,) = results.cells
    assert c is scenario.cells[0] and isinstance(c, Cell)
    assert c.id == "tcp_user_timeout=1s" and c.scenario == "py-typed"
    assert c.params == {"/client/socket/tcp_user_timeout": "1s"}
    assert c.summary == {"runs": 1, "detected": 1, "detection_ms": {"min": 1204.7, "median": 1204.7, "max": 1204.7}}
    assert c.expectations == [Expectation(check="error", passed=True, detail="ETIMEDOUT")]
    (run,) = c.runs
    raw = detected_run()
    # Every field holds its key's value.
    for f in dataclasses.fields(Run):
        if f.name in raw:
            assert getattr(run, f.name) == raw[f.name], f.name
    assert run.outcome == "detected" and run.error == "ETIMEDOUT" and run.before_fault is True
    assert run.sockets["client"]["peak"]["ESTABLISHED"] == 1
    assert run.probes["series"][0]["connect_p99_ms"] is None
    assert run.requests is not None and run.requests["phases"][0]["tps"] == 399.9
    assert run.command is not None and run.command["server"]["argv"] == ["nginx"]
    assert run.faults[0]["healed_ms"] is None
    assert [e.get("event") for e in run.timeline] == [None, "fault"]
    assert run.extra == {} and c.extra == {} and scenario.extra == {} and results.extra == {}


def test_an_error_run_lacks_keys_and_still_parses():
    doc = document([cell("a", [error_run()])])
    results = Results.from_dict(doc)
    run = results.cells[0].runs[0]
    assert run.outcome == "error" and run.error_detail == "agent exited before ready"
    assert run.syscall is None and run.fault_ms is None and run.deadline_ms is None
    assert run.duration_ms is None and run.workload_end_ms is None
    assert run.requests is None and run.command is None and run.before_fault is False
    assert run.tcp_counters == {} and run.faults == [] and run.timeline == [] and run.sockets == {}
    assert "syscall" not in results.to_dict()["scenarios"][0]["cells"][0]["runs"][0]
    assert results.to_dict() == doc


def test_unknown_keys_are_kept_and_to_dict_is_exactly_what_was_parsed():
    new_run = detected_run(model={"rto_ms": 200}, tcp_info=[{"t_ms": 1.0, "rto": 204000}],
                           packets={"client": 12}, detection_origin="fault", mechanism_basis="errno")
    doc = document([cell("a", [new_run])])
    doc["scenarios"][0]["cells"][0]["census_errors"] = []
    doc["scenarios"][0]["server"] = {"kind": "agent"}
    doc["scenarios"][0]["cells"][0]["expectations"][0]["hint"] = "set TCP_USER_TIMEOUT"
    doc["summary"]["skipped"] = 0
    doc["machine"] = {"cores": 2}
    before = copy.deepcopy(doc)
    results = Results.from_dict(doc)
    run = results.cells[0].runs[0]
    assert run.extra == {"model": {"rto_ms": 200}, "tcp_info": [{"t_ms": 1.0, "rto": 204000}],
                         "packets": {"client": 12}, "detection_origin": "fault", "mechanism_basis": "errno"}
    assert results.cells[0].extra == {"census_errors": []}
    assert results.scenarios[0].extra == {"server": {"kind": "agent"}}
    assert results.cells[0].expectations[0].extra == {"hint": "set TCP_USER_TIMEOUT"}
    assert results.extra == {"machine": {"cores": 2}}
    assert results.summary["skipped"] == 0  # a TypedDict is a dict: a new summary key is there too
    # to_dict(): the same document, key order included, and a copy each time.
    out = results.to_dict()
    assert out == before and json.dumps(out) == json.dumps(before)
    out["scenarios"].clear()
    assert results.to_dict() == before
    # The records do not share the caller's dict, nor does to_dict() share the records' values.
    doc["scenarios"][0]["cells"][0]["runs"][0]["probes"]["attempted"] = -1
    assert run.probes["attempted"] == 20
    run.probes["attempted"] = -2
    assert results.to_dict() == before
    assert results.cells[0].runs[0].to_dict() == before["scenarios"][0]["cells"][0]["runs"][0]
    assert results.cells[0].to_dict() == before["scenarios"][0]["cells"][0]
    assert results.scenarios[0].to_dict() == before["scenarios"][0]


def test_records_are_read_only_and_typos_raise():
    results = Results.from_dict(document([cell("a", [detected_run()])]))
    run = results.cells[0].runs[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.error = "ECONNRESET"
    with pytest.raises(dataclasses.FrozenInstanceError):
        results.cells[0].id = "b"
    with pytest.raises(AttributeError):
        run.detection_msec


def test_the_pass_rule():
    ok, failed, errored = cell("ok", [detected_run()]), cell("failed", [detected_run()], passed=(True, False)), \
        cell("errored", [error_run()])
    results = Results.from_dict(document([ok, failed, errored]))
    assert [c.passed for c in results.cells] == [True, False, False]
    assert not results.passed
    assert Results.from_dict(document([ok])).passed
    # One rule: every cell passed, as the CLI's exit code (the C++ side recomputes the summary
    # from the cells, so a stale summary changes nothing).
    assert Results.from_dict(document([ok], errors=1)).passed
    assert not Results.from_dict(document([ok, errored], errors=0)).passed
    for doc in (document([ok]), document([ok, failed, errored]), document([ok], errors=1), document([failed])):
        assert Results.from_dict(doc).passed == sockchaos._sockchaos.all_expectations_passed(json.dumps(doc))


def test_missing_essential_keys_name_what_is_missing():
    doc = document([cell("a", [detected_run()])])
    del doc["scenarios"][0]["cells"][0]["runs"][0]["outcome"]
    with pytest.raises(ValueError, match="missing key 'outcome'"):
        Results.from_dict(doc)
    with pytest.raises(ValueError, match="missing key 'scenarios'"):
        Results.from_dict({"summary": {}})
    with pytest.raises(ValueError, match="expected an object"):
        Results.from_dict([])


def test_records_built_by_hand():
    run = Run(outcome="undetected", deadline_ms=1000.0)
    assert run.error is None and run.probes == {"attempted": 0, "succeeded": 0, "failed": {}}
    c = Cell(id="x", params={}, runs=[run], expectations=[Expectation("undetected", True)],
             summary={"runs": 1, "detected": 0}, scenario="s")
    assert c.passed
    d = c.to_dict()
    assert d["id"] == "x" and "scenario" not in d and d["runs"][0]["outcome"] == "undetected"
    assert Cell.from_dict(d, scenario="s") == c
    # A changed copy of a parsed record says what it holds, not what was parsed.
    parsed = Run.from_dict(detected_run(tcp_info=[]))
    changed = dataclasses.replace(parsed, error="ECONNRESET")
    assert changed.to_dict()["error"] == "ECONNRESET" and changed.to_dict()["tcp_info"] == []
    assert parsed.to_dict() == detected_run(tcp_info=[])


def test_interrupted_is_a_typed_attribute_written_only_when_set():
    # What a Ctrl-C'd CLI run writes: the run cut short, the cell and the results marked.
    cut = dict(error_run(), error_detail="interrupted")
    doc = document([cell("a", [detected_run()]), cell("b", [cut])])
    doc["scenarios"][0]["cells"][1]["interrupted"] = True
    doc["interrupted"] = True
    results = Results.from_dict(doc)
    assert results.interrupted is True
    assert [c.interrupted for c in results.cells] == [False, True]
    assert "interrupted" not in results.cells[1].extra and "interrupted" not in results.extra
    assert results.to_dict() == doc
    # A complete run has neither key, and a record built by hand writes it only when true.
    whole = Results.from_dict(document([cell("a", [detected_run()])]))
    assert whole.interrupted is False and whole.cells[0].interrupted is False
    rebuilt = dataclasses.replace(whole)
    assert "interrupted" not in rebuilt.to_dict()
    marked = dataclasses.replace(whole, interrupted=True).to_dict()
    assert marked["interrupted"] is True
    assert "interrupted" not in dataclasses.replace(whole.cells[0]).to_dict()
    assert dataclasses.replace(whole.cells[0], interrupted=True).to_dict()["interrupted"] is True
    # Not a boolean: a clear error naming the key.
    bad = document([cell("a", [detected_run()])])
    bad["interrupted"] = "yes"
    with pytest.raises(ValueError, match="'interrupted': expected true or false, got str"):
        Results.from_dict(bad)
    bad = document([cell("a", [detected_run()])])
    bad["scenarios"][0]["cells"][0]["interrupted"] = 1
    with pytest.raises(ValueError, match=r"cell 'a'.*'interrupted'"):
        Results.from_dict(bad)
