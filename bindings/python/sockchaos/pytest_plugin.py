"""pytest plugin for sockchaos (`-p sockchaos.pytest_plugin`; automatic once installed).

Fixtures:
  sockchaos_lab   a fresh sockchaos.Lab per test, closed after it. Mark a test with
                  @pytest.mark.sockchaos_lab(sysctl={...}) to pass Lab(...) arguments.
  sockchaos_run   a callable like sockchaos.run(path_or_dict, jobs=None, cell_filter=None)
                  (filter= still works, deprecated as in sockchaos.run) whose results are
                  collected for --sockchaos-out. Annotate it as sockchaos.pytest_plugin.SockchaosRun.

Both skip the test, with the reason, when the process is not root (or the machine lacks what
sockchaos needs: the reason is `sockchaos doctor`'s advice).

Option:
  --sockchaos-out DIR   write DIR/results.json and DIR/report.html for every scenario the
                        session ran through sockchaos_run (merged as `sockchaos report` does).
"""
from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Protocol, Union

import pytest

import sockchaos
from sockchaos import _sockchaos

if TYPE_CHECKING:
    from _pytest.terminal import TerminalReporter

__all__ = ["SockchaosRun"]

_COLLECTED: pytest.StashKey[List[Dict[str, Any]]] = pytest.StashKey()


class SockchaosRun(Protocol):
    """The type of the sockchaos_run fixture: sockchaos.run, results kept for --sockchaos-out."""

    def __call__(self, path_or_dict: sockchaos.ScenarioSource, jobs: Optional[int] = None,
                 cell_filter: Optional[str] = None, *, filter: Optional[str] = None) -> sockchaos.Results: ...


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sockchaos")
    group.addoption("--sockchaos-out", metavar="DIR", default=None,
                    help="write results.json and report.html for the scenarios this session ran")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sockchaos_lab(**kwargs): arguments for the sockchaos_lab fixture's Lab(...)")
    collected: List[Dict[str, Any]] = []
    config.stash[_COLLECTED] = collected


def _privilege_problem() -> Optional[str]:
    """Why sockchaos cannot run here, or None."""
    if os.geteuid() != 0:
        return ("sockchaos needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to build network "
                "namespaces; run pytest as root, e.g. sudo, or in a user namespace: unshare -Urn")
    return None


def _skip_unless_privileged() -> None:
    problem = _privilege_problem()
    if problem:
        pytest.skip(problem)


@pytest.fixture
def sockchaos_lab(request: pytest.FixtureRequest) -> Iterator[sockchaos.Lab]:
    """A fresh Lab (client + server hosts) for this test; torn down after it."""
    _skip_unless_privileged()
    marker = request.node.get_closest_marker("sockchaos_lab")
    kwargs = dict(marker.kwargs) if marker else {}
    try:
        lab = sockchaos.Lab(**kwargs)
    except sockchaos.SockchaosEnvironmentError as e:
        pytest.skip("sockchaos cannot run here: %s" % e.advice)
    with lab:
        yield lab


@pytest.fixture
def sockchaos_run(request: pytest.FixtureRequest) -> SockchaosRun:
    """sockchaos.run, with the results kept for --sockchaos-out."""
    _skip_unless_privileged()
    collected = request.config.stash[_COLLECTED]

    def run(path_or_dict: sockchaos.ScenarioSource, jobs: Optional[int] = None,
            cell_filter: Optional[str] = None, *, filter: Optional[str] = None) -> sockchaos.Results:
        # The deprecation warning (filter=) names the test's line, as sockchaos.run's would.
        cell_filter = sockchaos._cell_filter(cell_filter, filter, stacklevel=2)
        try:
            results = sockchaos.run(path_or_dict, jobs=jobs, cell_filter=cell_filter)
        except sockchaos.SockchaosEnvironmentError as e:
            pytest.skip("sockchaos cannot run here: %s" % e.advice)
        collected.append(results.to_dict())
        return results

    return run


def pytest_sessionfinish(session: pytest.Session, exitstatus: Union[int, pytest.ExitCode]) -> None:
    out = session.config.getoption("--sockchaos-out")
    if not out:
        return
    none: List[Dict[str, Any]] = []
    collected = session.config.stash.get(_COLLECTED, none)
    merged = json.loads(_sockchaos.merge_results([json.dumps(r) for r in collected]))
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(merged, f, indent=2)
        f.write("\n")
    with open(os.path.join(out, "report.html"), "w") as f:
        f.write(_sockchaos.render_html_report(json.dumps(merged)))


def pytest_terminal_summary(terminalreporter: TerminalReporter, exitstatus: Union[int, pytest.ExitCode],
                            config: pytest.Config) -> None:
    out = config.getoption("--sockchaos-out")
    if out:
        none: List[Dict[str, Any]] = []
        collected = config.stash.get(_COLLECTED, none)
        n = len(collected)
        terminalreporter.write_line("sockchaos: %d run(s) -> %s/results.json, %s/report.html" % (n, out, out))
