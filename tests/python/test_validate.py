# Validation needs no privilege: these run as any user.
import os

import pytest

import sockchaos
from conftest import SCENARIOS


def small_scenario(**overrides):
    doc = {
        "name": "py-small",
        "server": {"on": "server", "port": 7000, "behavior": "sink"},
        "client": {"on": "client", "connect": "server:7000", "workload": {"kind": "stream"}},
        "faults": [{"kind": "reject", "on": "server", "at": "300ms"}],
        "deadline": "5s",
    }
    doc.update(overrides)
    return doc


def test_validate_shipped_folder_lists_every_scenario():
    found = sockchaos.validate(SCENARIOS)
    names = {s["name"] for s in found}
    assert "half-open-idle-keepalive" in names
    # Subfolders too (scenarios/gallery/).
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(SCENARIOS) for f in fs
                   if f.endswith(".json") and f != "schema.json")
    assert len(found) == len(files)
    assert "nginx-proxy" in names
    assert all(s["cells"] >= 1 for s in found)


def test_validate_dict_ok():
    assert sockchaos.validate(small_scenario()) == [{"file": "<dict>", "name": "py-small", "cells": 1}]


def test_scenario_error_names_the_pointer():
    doc = small_scenario(client={"on": "client", "connect": "server:7000", "workload": {"kind": "idle"},
                                 "socket": {"keepalive": {"idle": 1, "interval": "1s", "count": 3}}})
    with pytest.raises(sockchaos.ScenarioError) as info:
        sockchaos.validate(doc)
    assert isinstance(info.value, ValueError)
    assert "/client/socket/keepalive/idle" in str(info.value)
    assert any(i["pointer"] == "/client/socket/keepalive/idle" for i in info.value.issues)
    assert "1s" in str(info.value) or "unit" in str(info.value)  # suggests the unit form


def test_scenario_error_from_file_has_file_and_line(tmp_path, cli):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "name": "bad",\n  "deadline": 30,\n  "colour": "red"\n}\n')
    with pytest.raises(sockchaos.ScenarioError) as info:
        sockchaos.validate(str(path))
    text = str(info.value)
    assert "%s:3: /deadline" % path in text
    assert "/colour" in text
    # The same issues as the CLI prints.
    import subprocess
    proc = subprocess.run([cli, "validate", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2
    for issue in info.value.issues:
        assert issue["pointer"] in proc.stderr
    for line in text.splitlines():
        assert "error: " + line in proc.stderr


def test_matrix_values_are_validated_too():
    doc = small_scenario(matrix={"/client/socket/tcp_user_timeout": ["1s", 7]})
    with pytest.raises(sockchaos.ScenarioError) as info:
        sockchaos.validate(doc)
    assert "tcp_user_timeout" in str(info.value)


def test_run_validates_before_running():
    # No privilege is needed to be told the input is wrong.
    with pytest.raises(sockchaos.ScenarioError) as info:
        sockchaos.run(small_scenario(faults=[{"kind": "blackhole", "on": "nowhere", "at": "1s"}]))
    assert "/faults/0/on" in str(info.value)


def test_bad_arguments():
    with pytest.raises(TypeError):
        sockchaos.validate(42)
    with pytest.raises(ValueError):
        sockchaos.run(small_scenario(), jobs=0)
    with pytest.raises(TypeError, match="cell_filter"):
        sockchaos.run(small_scenario(), cell_filter="a", filter="b")
    with pytest.raises(sockchaos.ScenarioError):
        sockchaos.validate("/nonexistent/scenario.json")


def test_values_json_cannot_carry_are_scenario_errors_at_their_pointer():
    # json.dumps writes NaN, Infinity, 400-digit integers and lone surrogates (as \udc80): the
    # C++ side must answer with ScenarioError (file "<dict>", the pointer, no line), never with
    # a raw JSON library error.
    for bad in (float("nan"), float("inf"), 10 ** 400, "\udc80"):
        with pytest.raises(sockchaos.ScenarioError) as info:
            sockchaos.validate(small_scenario(description=bad))
        issues = info.value.issues
        assert issues and all(i["file"] == "<dict>" and i["line"] == 0 for i in issues), issues
        assert issues[0]["pointer"] == "/description", issues


def test_malformed_files_are_scenario_errors(tmp_path):
    cases = {
        "utf8.json": b'{"name": "a\xff"}',
        "overflow.json": b'{"name": "x", "repeat": 1e309}',
        "dup.json": b'{"name": "x",\n "name": "y"}',
        "empty.json": b"",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(sockchaos.ScenarioError) as info:
            sockchaos.validate(str(tmp_path / name))
        assert all(i["file"] == str(tmp_path / name) and i["line"] >= 1 for i in info.value.issues)
    with pytest.raises(sockchaos.ScenarioError) as info:
        sockchaos.validate(str(tmp_path / "dup.json"))
    assert 'duplicate key "name" (first at line 1)' in str(info.value)
