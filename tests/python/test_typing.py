# The package is typed: mypy --strict passes on it, catches misuse of the typed results in
# code that uses it, and the extension's stub lists what the extension exports. Runs Debian's
# mypy (python3-mypy) on the package being tested (the built one: its _sockchaos.pyi is the
# stub of the compiled module next to it). No privilege needed.
import os
import re
import subprocess
import textwrap

import pytest

from conftest import BUILD_PYTHON_HINT

PYTHON = "/usr/bin/python3"

BAD = textwrap.dedent('''\
    import sockchaos

    results = sockchaos.run("x.json")
    sockchaos.run("x.json").cells[0].runs[0].error + 1
    results.cells[0].runs[0].detection_msec
    results.cells[0].runs[0].sockets["client"]["peek"]
    results.cells[0].runs[0].outcome = "detected"
    sockchaos.run("x.json", jobs="2")
    results.cells[0].runs[0].probes["per_second"] + 1
''')
# Line -> why mypy must reject it.
BAD_LINES = {
    4: "error is str | None",
    5: "a typo in an attribute",
    6: "a typo in a key of a TypedDict",
    7: "results are read-only",
    8: "jobs is an int",
    9: "per_second is float | None",
}

GOOD = textwrap.dedent('''\
    from __future__ import annotations

    import socket
    from typing import Any, Optional

    import sockchaos
    from sockchaos.pytest_plugin import SockchaosRun
    from sockchaos.results import HostSockets, Outcome


    def outcomes(results: sockchaos.Results) -> list[tuple[str, Outcome, Optional[float]]]:
        return [(cell.scenario + "/" + cell.id, run.outcome, run.detection_ms)
                for cell in results.cells for run in cell.runs]


    def first_error_length(results: sockchaos.Results) -> int:
        run = results.cells[0].runs[0]
        if run.error is None:
            return 0
        return len(run.error) + 1


    def census(run: sockchaos.Run) -> int:
        client: HostSockets = run.sockets["client"]
        probes = run.probes
        rate = probes.get("per_second")
        failed = probes["attempted"] - probes["succeeded"] + sum(probes["failed"].values())
        waits = [e["t_ms"] for e in run.timeline if e.get("event") == "fault"]
        healed = [f["healed_ms"] for f in run.faults if f["healed_ms"] is not None]
        phases = [p["phase"] for p in run.requests["phases"]] if run.requests is not None else []
        exit_code = run.command.get("exit", 0) if run.command is not None else 0
        retrans = run.tcp_counters.get("client", {}).get("Tcp.RetransSegs", 0)
        return (client["peak"].get("ESTABLISHED", 0) + failed + len(waits) + len(healed) + len(phases)
                + exit_code + retrans + int(rate or 0) + (run.fault_ms is None))


    def summary(results: sockchaos.Results) -> str:
        s = results.summary
        cell = results.scenarios[0].cells[0]
        checks = [e.check + ": " + e.detail for e in cell.expectations if not e.passed]
        stats = cell.summary.get("detection_ms")
        median = stats["median"] if stats is not None else None
        new_keys: dict[str, Any] = cell.runs[0].extra
        return "%d/%d %s %s %s %s %s" % (s["expectations_failed"], s["errors"], results.passed,
                                         cell.passed, checks, median, sorted(new_keys))


    def with_lab() -> Optional[float]:
        with sockchaos.Lab(sysctl={"net.ipv4.tcp_retries2": 5}) as lab:
            lab.server(7000, behavior="sink")
            with lab.inside("client"):
                sock = socket.create_connection((lab.address("server"), 7000), timeout=5)
            with lab.fault("blackhole", on="server", match={"port": 7000}) as fault:
                installed: float = fault.installed_at
            sock.close()
            counts: dict[str, int] = lab.sockets("client")
            assert installed > 0 and lab.hosts == ["client", "server"] and counts is not None
            return fault.healed_at


    def test_plugin(sockchaos_run: SockchaosRun, sockchaos_lab: sockchaos.Lab) -> None:
        results = sockchaos_run({"name": "x"}, cell_filter="a")
        assert results.passed and results.cells[0].passed and sockchaos_lab.server_pids()


    def problems() -> list[str]:
        try:
            sockchaos.validate({"name": "x"})
        except sockchaos.ScenarioError as e:
            return [i["pointer"] + ":" + str(i["line"]) + ": " + i["message"] for i in e.issues]
        except sockchaos.SockchaosEnvironmentError as e:
            return [e.advice]
        return [c["name"] + ": " + c["fix"] for c in sockchaos.doctor() if not c["ok"]]


    as_json: dict[str, Any] = sockchaos.run(["a.json", "b.json"], jobs=2).to_dict()
    again = sockchaos.Results.from_dict(as_json)
    print(sockchaos.__version__ + sockchaos.agent_path(), again == again, sockchaos.validate("x")[0]["cells"])
''')


@pytest.fixture(scope="module")
def mypy(tmp_path_factory):
    """Runs Debian's mypy --strict against the package under test; returns (exit code, output)."""
    if subprocess.run([PYTHON, "-c", "import mypy.api"], capture_output=True).returncode != 0:
        pytest.skip("mypy is not installed for %s (apt-get install python3-mypy; scripts/deps.sh test)" % PYTHON)
    work = tmp_path_factory.mktemp("mypy")
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    # The build tree's package through MYPYPATH; an installed one mypy finds by itself (through
    # its py.typed), and refuses a site-packages folder in MYPYPATH.
    if os.path.basename(BUILD_PYTHON_HINT) not in ("site-packages", "dist-packages"):
        env["MYPYPATH"] = BUILD_PYTHON_HINT

    def run(*args):
        proc = subprocess.run([PYTHON, "-m", "mypy", "--strict", "--cache-dir", str(work / "cache"),
                               "--show-error-codes", "--no-color-output", *args],
                              capture_output=True, text=True, cwd=work, env=env, timeout=600)
        return proc.returncode, proc.stdout + proc.stderr

    run.work = work
    return run


def error_lines(output, name):
    return {int(m.group(1)) for m in re.finditer(r"^%s:(\d+): error:" % re.escape(name), output, re.M)}


def test_the_package_passes_mypy_strict(mypy):
    code, out = mypy("-p", "sockchaos")
    assert code == 0, out
    assert "Success: no issues found" in out
    # It checked the package under test, stub and all.
    assert os.path.exists(os.path.join(BUILD_PYTHON_HINT, "sockchaos", "py.typed"))
    assert os.path.exists(os.path.join(BUILD_PYTHON_HINT, "sockchaos", "_sockchaos.pyi"))


def test_mypy_catches_misuse_of_the_typed_results(mypy):
    (mypy.work / "bad.py").write_text(BAD)
    code, out = mypy("bad.py")
    assert code == 1, out
    # Exactly the wrong lines (so `import sockchaos` resolved to the typed package: an
    # unresolved import would be an error on line 1 and make every line below Any).
    assert error_lines(out, "bad.py") == set(BAD_LINES), out
    # Line 4 is wrong both ways: str + int, and None + int.
    line4 = "\n".join(l for l in out.splitlines() if l.startswith("bad.py:4: error:"))
    assert '"str"' in line4 and '"None"' in line4, out
    assert '"Run" has no attribute "detection_msec"' in out


def test_correct_use_of_the_api_passes(mypy):
    (mypy.work / "good.py").write_text(GOOD)
    code, out = mypy("good.py")
    assert code == 0, out
    assert error_lines(out, "good.py") == set(), out


def test_the_stub_matches_the_extension(mypy, tmp_path):
    # stubtest imports the compiled module and compares it with _sockchaos.pyi: a function or
    # class exported by module.cpp but missing from the stub (or the other way round) fails.
    # pybind11's classes have their own metaclass, which a stub does not spell.
    allowlist = tmp_path / "allowlist.txt"
    allowlist.write_text("sockchaos._sockchaos.Lab\nsockchaos._sockchaos.NetnsScope\n")
    env = dict(os.environ, PYTHONPATH=BUILD_PYTHON_HINT)
    if os.path.basename(BUILD_PYTHON_HINT) not in ("site-packages", "dist-packages"):
        env["MYPYPATH"] = BUILD_PYTHON_HINT
    proc = subprocess.run([PYTHON, "-m", "mypy.stubtest", "sockchaos._sockchaos", "--allowlist", str(allowlist)],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
