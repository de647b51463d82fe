"""sockchaos: chaos testing of TCP socket behaviour, from Python.

    results = sockchaos.run("scenarios/half-open-idle-keepalive.json")
    for cell in results.cells:
        print(cell.id, cell.runs[0].outcome, cell.runs[0].detection_ms)

    with sockchaos.Lab() as lab:            # a client host and a server host
        lab.server(7000, behavior="sink")
        with lab.inside("client"):          # sockets made here live in the client host
            ...
        fault = lab.fault("blackhole", on="server")

Everything needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN), like the CLI.
"""
import json as _json
import os as _os

from . import _sockchaos
from ._sockchaos import ScenarioError, SockchaosEnvironmentError
from .results import Cell, Results, Run, ScenarioResults
from .lab import Fault, Lab

__all__ = [
    "run", "validate", "doctor", "Results", "ScenarioResults", "Cell", "Run", "Lab", "Fault",
    "ScenarioError", "SockchaosEnvironmentError", "agent_path", "__version__",
]

__version__ = _sockchaos.version().split(" ")[-1]

# The exception types are made in C++; give them their public home for tracebacks.
ScenarioError.__module__ = __name__
SockchaosEnvironmentError.__module__ = __name__


def agent_path():
    """The sockchaos-agent the runs and the Lab start: $SOCKCHAOS_AGENT, else the one shipped
    inside this package (pip install), else the build tree's."""
    env = _os.environ.get("SOCKCHAOS_AGENT")
    if env:
        return env
    packaged = _os.path.join(_os.path.dirname(__file__), "sockchaos-agent")
    if _os.access(packaged, _os.X_OK):
        return packaged
    return _sockchaos.find_agent_path()


def _source(path_or_dict):
    """(paths, text) for the C++ loaders: a path (file or folder, str or PathLike, or a list of
    them) or a scenario dict."""
    if isinstance(path_or_dict, dict):
        return None, _json.dumps(path_or_dict)
    if isinstance(path_or_dict, (str, bytes, _os.PathLike)):
        return [_os.fsdecode(path_or_dict)], None
    if isinstance(path_or_dict, (list, tuple)) and all(
            isinstance(p, (str, bytes, _os.PathLike)) for p in path_or_dict):
        return [_os.fsdecode(p) for p in path_or_dict], None
    raise TypeError("expected a scenario file or folder path, a list of them, or a scenario dict; got "
                    + type(path_or_dict).__name__)


def validate(path_or_dict):
    """Checks scenario files, folders or a scenario dict like `sockchaos validate`, matrix cells
    included. Returns [{"file", "name", "cells"}] per scenario; raises ScenarioError listing
    every issue (file, line, JSON Pointer, what was expected)."""
    paths, text = _source(path_or_dict)
    return _json.loads(_sockchaos.validate(paths, text))


def _check_agent(agent):
    if not _os.access(agent, _os.X_OK):
        advice = _sockchaos.doctor_advice(agent) or (
            "build it (cmake --build build) or set SOCKCHAOS_AGENT to its path")
        err = SockchaosEnvironmentError(
            "sockchaos-agent not found at " + agent + "\nwhat to do: " + advice)
        err.advice = advice
        raise err


def run(path_or_dict, jobs=None, filter=None):
    """Runs scenarios like `sockchaos run` and returns Results (Results.to_dict() is the
    results.json the CLI writes). The GIL is released while cells run; Ctrl-C stops every cell,
    cleans up and raises KeyboardInterrupt."""
    paths, text = _source(path_or_dict)
    if jobs is not None and (not isinstance(jobs, int) or jobs < 1):
        raise ValueError("jobs: expected a positive integer or None; got %r" % (jobs,))
    agent = agent_path()
    _sockchaos.validate(paths, text)  # input errors first, as the CLI does
    _check_agent(agent)
    out = _sockchaos.run(paths, text, jobs or 0, agent, filter or "")
    return Results(_json.loads(out))


def doctor():
    """`sockchaos doctor` as data: [{"name", "ok", "essential", "detail", "fix"}]."""
    return _sockchaos.doctor(agent_path())
