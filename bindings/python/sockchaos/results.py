"""Results of a run: results.json as typed, read-only records.

    results.cells[i].runs[j].detection_ms     # float | None, typed: mypy checks what you do with it
    results.scenarios[k].cells                # the same Cell objects, per scenario
    results.to_dict()                         # exactly the results.json the CLI writes

Records (frozen dataclasses, attribute access): Results, ScenarioResults, Cell, Expectation,
Run. The JSON objects inside a run (sockets, probes, requests, command, faults, timeline, the
summaries) stay plain dicts and lists, described by the TypedDicts below, so
`run.sockets["client"]["peak"]` and `run.probes == {...}` work as on the JSON.

Keys that a record does not name (ones a newer sockchaos adds) are kept in its `extra` dict;
to_dict() returns a deep copy of the object the record was parsed from, unknown keys, key order
and absent keys included. The types describe what the C++ side writes; they are not re-checked
at run time.
"""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, List, Literal, Mapping, Optional, TypedDict, TypeVar, cast

__all__ = [
    "Results", "ScenarioResults", "Cell", "Expectation", "Run", "Outcome",
    "Summary", "CellSummary", "DetectionStats", "HostSockets", "Probes", "ConnectLatency",
    "ProbeWindow", "Requests", "RequestPhase", "Command", "ServerCommand", "FaultRecord",
    "TimelineEntry", "TcpCounters",
]

Outcome = Literal["detected", "undetected", "error", "skipped"]
"""A run's outcome: the client saw an error (detected), it did not before the deadline
(undetected), the run itself failed (error, see Run.error_detail), or it was not run."""

JSONObject = Dict[str, Any]

TcpCounters = Dict[str, Dict[str, int]]
"""Per host, its non-zero TCP counters: {"client": {"Tcp.RetransSegs": 5, "TcpExt.TW": 1}}."""


# -- The JSON objects inside the records (plain dicts at run time) ---------------------------

class Summary(TypedDict):
    """results.json "summary": counts over every cell."""
    cells: int
    runs: int
    expectations_passed: int
    expectations_failed: int
    errors: int


class DetectionStats(TypedDict):
    min: float
    median: float
    max: float


class _CellSummaryRequired(TypedDict):
    runs: int
    detected: int


class CellSummary(_CellSummaryRequired, total=False):
    """A cell's "summary"; detection_ms only when some run detected."""
    detection_ms: DetectionStats


class HostSockets(TypedDict):
    """run.sockets[host]: the peak count per TCP state, when each state cleared (ms after the
    workload ended, None if it did not during the observation), TIME_WAIT's lifetime."""
    peak: Dict[str, int]
    cleared_ms: Dict[str, Optional[float]]
    time_wait_cleared_ms: Optional[float]


class ConnectLatency(TypedDict):
    p50: float
    p99: float
    max: float


class ProbeWindow(TypedDict):
    """One census window of a probe loop (probes.series)."""
    t_ms: float
    attempted: int
    failed: int
    connect_p50_ms: Optional[float]
    connect_p99_ms: Optional[float]
    time_wait: int


class _ProbesRequired(TypedDict):
    attempted: int
    succeeded: int
    failed: Dict[str, int]


class Probes(_ProbesRequired, total=False):
    """run.probes: connection probes (workload "probe"); failed counts errors by name.
    per_second, connect_ms and series appear only when there were probes to measure."""
    per_second: Optional[float]
    connect_ms: ConnectLatency
    series: List[ProbeWindow]


class RequestPhase(TypedDict):
    """Request statistics before / during / after the first fault (or "all" without one)."""
    phase: str
    start_ms: float
    end_ms: float
    requests: int
    errors: int
    tps: float
    p50_ms: Optional[float]
    p90_ms: Optional[float]
    p99_ms: Optional[float]
    max_ms: Optional[float]
    mean_ms: Optional[float]


class Requests(TypedDict):
    phases: List[RequestPhase]


class ServerCommand(TypedDict):
    argv: List[str]
    stdout: str
    stderr: str


class Command(TypedDict, total=False):
    """run.command: the user's client command (argv, exit, stdout, stderr) and/or server
    command (server), whichever the scenario ran."""
    argv: List[str]
    exit: int
    stdout: str
    stderr: str
    server: ServerCommand


class FaultRecord(TypedDict):
    """One fault of a run: ms after the run's base time; healed_ms None if never healed."""
    label: str
    installed_ms: Optional[float]
    healed_ms: Optional[float]


class _TimelineEntryRequired(TypedDict):
    t_ms: float


class TimelineEntry(_TimelineEntryRequired, total=False):
    """A census sample ({"t_ms", "sockets": {host: {state: count}}}) or an event
    ({"t_ms", "event", "detail"}), in time order."""
    sockets: Dict[str, Dict[str, int]]
    event: str
    detail: str


# -- Helpers ---------------------------------------------------------------------------------

def _passed(expectations_failed: int, errors: int) -> bool:
    """The CLI's exit-code rule, the one place Python states it (as CellResult::passed does in
    C++): no expectation failed and no run errored. Cell.passed feeds it the cell's own counts;
    Results.passed holds when every cell passed."""
    return expectations_failed == 0 and errors == 0


def _copied_object(value: object, where: str) -> JSONObject:
    """A deep copy of a results.json object given to from_dict() (any Mapping)."""
    if not isinstance(value, Mapping):
        raise ValueError("results.json: %s: expected an object, got %s" % (where, type(value).__name__))
    return copy.deepcopy(dict(value))


def _object(value: object, where: str) -> JSONObject:
    if not isinstance(value, dict):
        raise ValueError("results.json: %s: expected an object, got %s" % (where, type(value).__name__))
    return value


def _list(value: object, where: str) -> List[Any]:
    if not isinstance(value, list):
        raise ValueError("results.json: %s: expected an array, got %s" % (where, type(value).__name__))
    return value


def _required(data: JSONObject, key: str, where: str) -> Any:
    try:
        return data[key]
    except KeyError:
        raise ValueError("results.json: %s: missing key %r" % (where, key)) from None


def _flag(data: JSONObject, key: str, where: str) -> bool:
    """An optional boolean key (results.json writes it only when true)."""
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise ValueError("results.json: %s: %r: expected true or false, got %s" % (where, key, type(value).__name__))
    return value


def _own(value: Any) -> Any:
    """A value for a record's field: a copy, so that changing it leaves to_dict() alone."""
    return copy.deepcopy(value)


def _extra(data: JSONObject, record: type) -> Dict[str, Any]:
    known = {f.name for f in dataclasses.fields(record) if f.metadata.get("json", True)}
    return {k: copy.deepcopy(v) for k, v in data.items() if k not in known}


def _plain(value: Any) -> Any:
    if isinstance(value, (Results, ScenarioResults, Cell, Expectation, Run)):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return copy.deepcopy(value)


def _to_dict(record: Any, raw: Optional[JSONObject]) -> Dict[str, Any]:
    """The parsed object (a deep copy), or for a record built by hand its fields and extra."""
    if raw is not None:
        return copy.deepcopy(raw)
    out: Dict[str, Any] = {}
    for f in dataclasses.fields(record):
        if not f.metadata.get("json", True):
            continue
        value = getattr(record, f.name)
        if f.metadata.get("only_if_true") and value is not True:
            continue  # as the CLI writes it: the key only when set
        out[f.name] = _plain(value)
    out.update(copy.deepcopy(record.extra))
    return out


def _interrupted_field() -> Any:
    return field(default=False, metadata={"only_if_true": True})


def _extra_field() -> Any:
    return field(default_factory=dict, metadata={"json": False})


def _raw_field() -> Any:
    # Not an __init__ argument: dataclasses.replace() makes a record without it, whose
    # to_dict() then comes from its fields instead of a stale parsed object.
    return field(default=None, init=False, repr=False, compare=False, metadata={"json": False})


_R = TypeVar("_R")


def _parsed(record: _R, raw: JSONObject) -> _R:
    """The record, remembering the object it was parsed from (for to_dict())."""
    object.__setattr__(record, "_raw", raw)
    return record


# -- The records -----------------------------------------------------------------------------

def _default_probes() -> Probes:
    return {"attempted": 0, "succeeded": 0, "failed": {}}


@dataclass(frozen=True, repr=False)
class Run:
    """One run of a cell. An error run (outcome "error") carries error_detail and lacks the
    measurements (syscall, fault_ms, ... are None, sockets empty)."""

    outcome: Outcome
    detection_ms: Optional[float] = None
    error: Optional[str] = None
    """The error the client saw (ETIMEDOUT, ECONNRESET, exit:1, ...); None when undetected."""
    syscall: Optional[str] = None
    mechanism: Optional[str] = None
    before_fault: bool = False
    error_detail: Optional[str] = None
    fault_ms: Optional[float] = None
    workload_end_ms: Optional[float] = None
    deadline_ms: Optional[float] = None
    duration_ms: Optional[float] = None
    sockets: Dict[str, HostSockets] = field(default_factory=dict)
    probes: Probes = field(default_factory=_default_probes)
    requests: Optional[Requests] = None
    command: Optional[Command] = None
    tcp_counters: TcpCounters = field(default_factory=dict)
    faults: List[FaultRecord] = field(default_factory=list)
    timeline: List[TimelineEntry] = field(default_factory=list)
    extra: Dict[str, Any] = _extra_field()
    """Keys this version does not name, as parsed."""
    _raw: Optional[JSONObject] = _raw_field()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Run:
        return cls._parse(_copied_object(data, "run"), "run")

    @classmethod
    def _parse(cls, d: JSONObject, where: str) -> Run:
        return _parsed(cls(
            outcome=cast(Outcome, _required(d, "outcome", where)),
            detection_ms=d.get("detection_ms"),
            error=d.get("error"),
            syscall=d.get("syscall"),
            mechanism=d.get("mechanism"),
            before_fault=bool(d.get("before_fault", False)),
            error_detail=d.get("error_detail"),
            fault_ms=d.get("fault_ms"),
            workload_end_ms=d.get("workload_end_ms"),
            deadline_ms=d.get("deadline_ms"),
            duration_ms=d.get("duration_ms"),
            sockets=_own(d.get("sockets", {})),
            probes=_own(d["probes"]) if "probes" in d else _default_probes(),
            requests=_own(d.get("requests")),
            command=_own(d.get("command")),
            tcp_counters=_own(d.get("tcp_counters", {})),
            faults=_own(d.get("faults", [])),
            timeline=_own(d.get("timeline", [])),
            extra=_extra(d, cls),
        ), d)

    def to_dict(self) -> Dict[str, Any]:
        """This run's results.json object (a deep copy of what was parsed)."""
        return _to_dict(self, self._raw)

    def __repr__(self) -> str:
        return "<sockchaos.Run %s%s%s>" % (
            self.outcome, "" if self.error is None else " " + self.error,
            "" if self.detection_ms is None else " after %s ms" % self.detection_ms)


@dataclass(frozen=True)
class Expectation:
    """One expectation of a cell, as judged: check ("error", "detected_within", ...),
    passed, and a detail saying what was seen."""

    check: str
    passed: bool
    detail: str = ""
    extra: Dict[str, Any] = _extra_field()
    _raw: Optional[JSONObject] = _raw_field()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Expectation:
        return cls._parse(_copied_object(data, "expectation"), "expectation")

    @classmethod
    def _parse(cls, d: JSONObject, where: str) -> Expectation:
        return _parsed(cls(check=_required(d, "check", where), passed=bool(_required(d, "passed", where)),
                           detail=d.get("detail", ""), extra=_extra(d, cls)), d)

    def to_dict(self) -> Dict[str, Any]:
        return _to_dict(self, self._raw)


@dataclass(frozen=True, repr=False)
class Cell:
    """A matrix cell: id, params (JSON Pointer -> value), runs, expectations, summary;
    .scenario is the name of its scenario, .passed whether it passed."""

    id: str
    params: Dict[str, Any]
    runs: List[Run]
    expectations: List[Expectation]
    summary: CellSummary
    scenario: str = field(default="", metadata={"json": False})
    """The name of the scenario the cell belongs to (not a key of the cell's JSON)."""
    interrupted: bool = _interrupted_field()
    """Ctrl-C or SIGTERM cut a run of the cell short (its outcome "error", error_detail
    "interrupted") or came before the cell started ("skipped")."""
    extra: Dict[str, Any] = _extra_field()
    _raw: Optional[JSONObject] = _raw_field()

    @property
    def passed(self) -> bool:
        """All its expectations held and no run errored."""
        return _passed(sum(1 for e in self.expectations if not e.passed),
                       sum(1 for r in self.runs if r.outcome == "error"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], scenario: str = "") -> Cell:
        return cls._parse(_copied_object(data, "cell"), "cell", scenario)

    @classmethod
    def _parse(cls, d: JSONObject, where: str, scenario: str) -> Cell:
        where = "%s %r" % (where, d.get("id", "?"))
        runs = _list(d.get("runs", []), where + " runs")
        expectations = _list(d.get("expectations", []), where + " expectations")
        return _parsed(cls(
            id=_required(d, "id", where),
            params=_own(d.get("params", {})),
            runs=[Run._parse(_object(r, where + " run"), where + " run") for r in runs],
            expectations=[Expectation._parse(_object(e, where + " expectation"), where + " expectation")
                          for e in expectations],
            summary=_own(_required(d, "summary", where)),
            scenario=scenario,
            interrupted=_flag(d, "interrupted", where),
            extra=_extra(d, cls),
        ), d)

    def to_dict(self) -> Dict[str, Any]:
        return _to_dict(self, self._raw)

    def __repr__(self) -> str:
        return "<sockchaos.Cell %s/%s passed=%s>" % (self.scenario, self.id, self.passed)


@dataclass(frozen=True, repr=False)
class ScenarioResults:
    """One scenario's results: name, file, description, matrix_axes (JSON Pointers), cells."""

    name: str
    file: str = ""
    description: str = ""
    matrix_axes: List[str] = field(default_factory=list)
    cells: List[Cell] = field(default_factory=list)
    extra: Dict[str, Any] = _extra_field()
    _raw: Optional[JSONObject] = _raw_field()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScenarioResults:
        return cls._parse(_copied_object(data, "scenario"), "scenario")

    @classmethod
    def _parse(cls, d: JSONObject, where: str) -> ScenarioResults:
        name = _required(d, "name", where)
        where = "scenario %r" % (name,)
        return _parsed(cls(
            name=name,
            file=d.get("file", ""),
            description=d.get("description", ""),
            matrix_axes=_own(d.get("matrix_axes", [])),
            cells=[Cell._parse(_object(c, where + " cell"), where + " cell", name)
                   for c in _list(d.get("cells", []), where + " cells")],
            extra=_extra(d, cls),
        ), d)

    def to_dict(self) -> Dict[str, Any]:
        return _to_dict(self, self._raw)

    def __repr__(self) -> str:
        return "<sockchaos.ScenarioResults %s: %d cells>" % (self.name, len(self.cells))


@dataclass(frozen=True, repr=False)
class Results:
    """What a run produced (results.json). .cells lists the cells of every scenario in order;
    .passed is the CLI's exit-code rule (no expectation failed, no run errored)."""

    version: str
    kernel: str
    started: str
    scenarios: List[ScenarioResults]
    summary: Summary
    interrupted: bool = _interrupted_field()
    """The run was cut short (Ctrl-C, SIGTERM): these are partial results; the cells it
    reached carry Cell.interrupted."""
    extra: Dict[str, Any] = _extra_field()
    _raw: Optional[JSONObject] = _raw_field()

    @property
    def cells(self) -> List[Cell]:
        """Every cell of every scenario, in order (the same objects as under .scenarios)."""
        return [c for s in self.scenarios for c in s.cells]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.cells)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Results:
        """Parses a results.json object (it is copied: later changes to `data` do not reach
        the records). Raises ValueError when a key every result has is missing."""
        return cls._parse(_copied_object(data, "results"))

    @classmethod
    def _parse(cls, d: JSONObject) -> Results:
        return _parsed(cls(
            version=d.get("version", ""),
            kernel=d.get("kernel", ""),
            started=d.get("started", ""),
            scenarios=[ScenarioResults._parse(_object(s, "scenario"), "scenario")
                       for s in _list(_required(d, "scenarios", "results"), "scenarios")],
            summary=_own(_required(d, "summary", "results")),
            interrupted=_flag(d, "interrupted", "results"),
            extra=_extra(d, cls),
        ), d)

    def to_dict(self) -> Dict[str, Any]:
        """Exactly the results.json the CLI writes for the same run (a deep copy)."""
        return _to_dict(self, self._raw)

    def __repr__(self) -> str:
        s = self.summary
        return "<sockchaos.Results %s cells, %s runs, passed=%s>" % (s.get("cells"), s.get("runs"), self.passed)
