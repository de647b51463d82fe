# The pytest plugin, driven through pytester (inner sessions in this process).
import json
import os

import pytest

from conftest import require_features

INNER = r"""
import socket

SCENARIO = {
    "name": "py-plugin",
    "server": {"on": "server", "port": 7000, "behavior": "sink"},
    "client": {"on": "client", "connect": "server:7000", "workload": {"kind": "stream"}},
    "faults": [{"kind": "reject", "on": "server", "at": "300ms"}],
    "deadline": "5s",
    "expect": [{"error": "ECONNRESET"}],
}

def test_lab_fixture(sockchaos_lab):
    sockchaos_lab.server(7000)
    with sockchaos_lab.inside("client"):
        socket.create_connection((sockchaos_lab.address("server"), 7000), timeout=2).close()

def test_run_fixture(sockchaos_run):
    results = sockchaos_run(SCENARIO)
    assert results.passed
"""


def test_fixtures_and_sockchaos_out(pytester):
    require_features()
    pytester.makepyfile(test_inner=INNER)
    out_dir = pytester.path / "out"
    result = pytester.runpytest("-p", "sockchaos.pytest_plugin", "--sockchaos-out", str(out_dir))
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["sockchaos: 1 run(s) -> *results.json*"])
    merged = json.loads((out_dir / "results.json").read_text())
    assert [s["name"] for s in merged["scenarios"]] == ["py-plugin"]
    assert merged["summary"]["expectations_passed"] == 1
    html = (out_dir / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") or html.lower().startswith("<!doctype html>")
    assert "py-plugin" in html


def test_help_lists_the_option(pytester):
    result = pytester.runpytest("-p", "sockchaos.pytest_plugin", "--help")
    result.stdout.fnmatch_lines(["*--sockchaos-out=DIR*"])


def test_fixtures_skip_with_reason_when_not_root(pytester, monkeypatch):
    pytester.makepyfile(test_inner=INNER)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    result = pytester.runpytest("-p", "sockchaos.pytest_plugin", "-rs")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*sockchaos needs root*"])
