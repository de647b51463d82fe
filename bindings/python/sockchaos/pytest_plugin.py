"""pytest plugin for sockchaos (`-p sockchaos.pytest_plugin`; automatic once installed).

Fixtures:
  sockchaos_lab   a fresh sockchaos.Lab per test, closed after it. Mark a test with
                  @pytest.mark.sockchaos_lab(sysctl={...}) to pass Lab(...) arguments.
  sockchaos_run   a callable like sockchaos.run(path_or_dict, jobs=None, filter=None) whose
                  results are collected for --sockchaos-out.

Both skip the test, with the reason, when the process is not root (or the machine lacks what
sockchaos needs: the reason is `sockchaos doctor`'s advice).

Option:
  --sockchaos-out DIR   write DIR/results.json and DIR/report.html for every scenario the
                        session ran through sockchaos_run (merged as `sockchaos report` does).
"""
import json
import os

import pytest

import sockchaos
from sockchaos import _sockchaos

_COLLECTED = pytest.StashKey()


def pytest_addoption(parser):
    group = parser.getgroup("sockchaos")
    group.addoption("--sockchaos-out", metavar="DIR", default=None,
                    help="write results.json and report.html for the scenarios this session ran")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "sockchaos_lab(**kwargs): arguments for the sockchaos_lab fixture's Lab(...)")
    config.stash[_COLLECTED] = []


def _privilege_problem():
    """Why sockchaos cannot run here, or None."""
    if os.geteuid() != 0:
        return ("sockchaos needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to build network "
                "namespaces; run pytest as root, e.g. sudo, or in a user namespace: unshare -Urn")
    return None


def _skip_unless_privileged():
    problem = _privilege_problem()
    if problem:
        pytest.skip(problem)


@pytest.fixture
def sockchaos_lab(request):
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
def sockchaos_run(request):
    """sockchaos.run, with the results kept for --sockchaos-out."""
    _skip_unless_privileged()
    collected = request.config.stash[_COLLECTED]

    def run(path_or_dict, jobs=None, filter=None):
        try:
            results = sockchaos.run(path_or_dict, jobs=jobs, filter=filter)
        except sockchaos.SockchaosEnvironmentError as e:
            pytest.skip("sockchaos cannot run here: %s" % e.advice)
        collected.append(results.to_dict())
        return results

    return run


def pytest_sessionfinish(session, exitstatus):
    out = session.config.getoption("--sockchaos-out")
    if not out:
        return
    collected = session.config.stash.get(_COLLECTED, [])
    merged = json.loads(_sockchaos.merge_results([json.dumps(r) for r in collected]))
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(merged, f, indent=2)
        f.write("\n")
    with open(os.path.join(out, "report.html"), "w") as f:
        f.write(_sockchaos.render_html_report(json.dumps(merged)))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    out = config.getoption("--sockchaos-out")
    if out:
        n = len(config.stash.get(_COLLECTED, []))
        terminalreporter.write_line("sockchaos: %d run(s) -> %s/results.json, %s/report.html" % (n, out, out))
