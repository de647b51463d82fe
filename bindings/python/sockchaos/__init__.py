"""sockchaos: chaos testing of TCP socket behaviour, from Python.

    results = sockchaos.run("scenarios/half-open-idle-keepalive.json")
    for cell in results.cells:
        print(cell.id, cell.runs[0].outcome, cell.runs[0].detection_ms)

    with sockchaos.Lab() as lab:            # a client host and a server host
        lab.server(7000, behavior="sink")
        with lab.inside("client"):          # sockets made here live in the client host
            ...
        fault = lab.fault("blackhole", on="server")

Everything needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN), like the CLI. The package is typed
(py.typed): results are typed records (sockchaos.results), so mypy checks code that reads them.
"""
from __future__ import annotations

import json as _json
import os as _os
import warnings as _warnings
from typing import Any, Dict, List, Optional, Tuple, Union, cast

from . import _sockchaos
from ._json_types import DoctorCheck, ScenarioIssue, ValidatedScenario
from ._sockchaos import ScenarioError, SockchaosEnvironmentError
from .lab import Fault, Lab
from .results import Cell, Expectation, Outcome, Results, Run, ScenarioResults

__all__ = [
    "run", "validate", "doctor", "Results", "ScenarioResults", "Cell", "Expectation", "Run", "Outcome",
    "Lab", "Fault", "ScenarioError", "SockchaosEnvironmentError", "ScenarioIssue", "DoctorCheck",
    "ValidatedScenario", "ScenarioSource", "agent_path", "__version__",
]

__version__ = _sockchaos.version().split(" ")[-1]

# The exception types are made in C++; give them their public home for tracebacks.
ScenarioError.__module__ = __name__
SockchaosEnvironmentError.__module__ = __name__

_Path = Union[str, bytes, _os.PathLike[str], _os.PathLike[bytes]]
ScenarioSource = Union[_Path, List[_Path], Tuple[_Path, ...], Dict[str, Any]]
"""What run() and validate() take: a scenario file or folder path (str, bytes or PathLike), a
list or tuple of them, or one scenario as a dict."""


def agent_path() -> str:
    """The sockchaos-agent the runs and the Lab start: $SOCKCHAOS_AGENT, else the one shipped
    inside this package (pip install), else the build tree's."""
    env = _os.environ.get("SOCKCHAOS_AGENT")
    if env:
        return env
    packaged = _os.path.join(_os.path.dirname(__file__), "sockchaos-agent")
    if _os.access(packaged, _os.X_OK):
        return packaged
    return _sockchaos.find_agent_path()


def _is_path(value: object) -> bool:
    return isinstance(value, (str, bytes, _os.PathLike))


def _source(path_or_dict: ScenarioSource) -> Tuple[Optional[List[str]], Optional[str]]:
    """(paths, text) for the C++ loaders: a path (file or folder, str or PathLike, or a list of
    them) or a scenario dict."""
    if isinstance(path_or_dict, dict):
        return None, _json.dumps(path_or_dict)
    if isinstance(path_or_dict, (str, bytes, _os.PathLike)):
        return [_os.fsdecode(path_or_dict)], None
    if isinstance(path_or_dict, (list, tuple)) and all(_is_path(p) for p in path_or_dict):
        return [_os.fsdecode(p) for p in path_or_dict], None
    raise TypeError("expected a scenario file or folder path, a list of them, or a scenario dict; got "
                    + type(path_or_dict).__name__)


def validate(path_or_dict: ScenarioSource) -> List[ValidatedScenario]:
    """Checks scenario files, folders or a scenario dict like `sockchaos validate`, matrix cells
    included. Returns [{"file", "name", "cells"}] per scenario; raises ScenarioError listing
    every issue (file, line, JSON Pointer, what was expected)."""
    paths, text = _source(path_or_dict)
    return cast(List[ValidatedScenario], _json.loads(_sockchaos.validate(paths, text)))


def _check_agent(agent: str) -> None:
    if not _os.access(agent, _os.X_OK):
        advice = _sockchaos.doctor_advice(agent) or (
            "build it (cmake --build build) or set SOCKCHAOS_AGENT to its path")
        err = SockchaosEnvironmentError(
            "sockchaos-agent not found at " + agent + "\nwhat to do: " + advice)
        err.advice = advice
        raise err


def _cell_filter(cell_filter: Optional[str], filter: Optional[str], stacklevel: int) -> Optional[str]:
    """The cell filter of a run() call, warning about the deprecated `filter=` spelling.
    stacklevel is that of the caller to blame, counted from this function."""
    if filter is None:
        return cell_filter
    if cell_filter is not None:
        raise TypeError("run(): pass cell_filter= only (filter= is its deprecated old name)")
    _warnings.warn("sockchaos.run(filter=...) is deprecated, use cell_filter=...",
                   DeprecationWarning, stacklevel=stacklevel + 1)
    return filter


def run(path_or_dict: ScenarioSource, jobs: Optional[int] = None, cell_filter: Optional[str] = None, *,
        filter: Optional[str] = None) -> Results:
    """Runs scenarios like `sockchaos run` and returns Results (Results.to_dict() is the
    results.json the CLI writes). jobs: cells run at once (None: as the CLI chooses);
    cell_filter: a regular expression, only the cells whose "scenario/cell-id" it matches run
    (`--filter`); `filter=` is its deprecated old name. The GIL is released while cells run;
    Ctrl-C stops every cell, cleans up and raises KeyboardInterrupt."""
    cell_filter = _cell_filter(cell_filter, filter, stacklevel=2)
    paths, text = _source(path_or_dict)
    if jobs is not None and (not isinstance(jobs, int) or jobs < 1):
        raise ValueError("jobs: expected a positive integer or None; got %r" % (jobs,))
    agent = agent_path()
    _sockchaos.validate(paths, text)  # input errors first, as the CLI does
    _check_agent(agent)
    out = _sockchaos.run(paths, text, jobs or 0, agent, cell_filter or "")
    return Results.from_dict(_json.loads(out))


def doctor() -> List[DoctorCheck]:
    """`sockchaos doctor` as data: [{"name", "ok", "essential", "detail", "fix"}]."""
    return _sockchaos.doctor(agent_path())
