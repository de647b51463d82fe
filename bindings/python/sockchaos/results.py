"""Results of a run: results.json with attribute access.

    results.cells[i].runs[j].detection_ms     # every key of a run is an attribute
    results.scenarios[k].cells                # the same cells, per scenario
    results.to_dict()                         # exactly the results.json the CLI writes
"""
import copy


class _Record:
    """A results.json object: its keys are attributes (and items); unknown keys raise
    AttributeError / KeyError. Nested values are plain JSON values (dict, list, ...)."""

    __slots__ = ("_data",)

    def __init__(self, data):
        object.__setattr__(self, "_data", data)

    def __getattr__(self, name):
        try:
            return self._wrap(name, self._data[name])
        except KeyError:
            raise AttributeError("%s has no key %r (keys: %s)" % (
                type(self).__name__, name, ", ".join(self._data))) from None

    def __getitem__(self, key):
        return self._wrap(key, self._data[key])

    def __contains__(self, key):
        return key in self._data

    def __setattr__(self, name, value):
        raise AttributeError("results are read-only")

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._data))

    def get(self, key, default=None):
        return self._wrap(key, self._data[key]) if key in self._data else default

    def keys(self):
        return self._data.keys()

    def to_dict(self):
        return copy.deepcopy(self._data)

    def _wrap(self, key, value):
        return value

    def __eq__(self, other):
        return isinstance(other, _Record) and self._data == other._data

    def __repr__(self):
        return "<%s %s>" % (type(self).__name__, self._summary())

    def _summary(self):
        return ""


class Run(_Record):
    """One run of a cell: outcome, detection_ms, error, mechanism, sockets, probes, timeline..."""

    def _summary(self):
        d = self._data
        return "%s %s %s" % (d.get("outcome"), d.get("error"), d.get("detection_ms"))


class Cell(_Record):
    """A matrix cell: id, params, runs (Run objects), expectations, summary; .scenario is the
    name of its scenario and .passed says whether all its expectations held."""

    __slots__ = ("_scenario",)

    def __init__(self, data, scenario=""):
        super().__init__(data)
        object.__setattr__(self, "_scenario", scenario)

    @property
    def scenario(self):
        return self._scenario

    @property
    def passed(self):
        return all(e.get("passed") for e in self._data.get("expectations", [])) and not any(
            r.get("outcome") == "error" for r in self._data.get("runs", []))

    def _wrap(self, key, value):
        if key == "runs":
            return [Run(r) for r in value]
        return value

    def _summary(self):
        return "%s/%s" % (self._scenario, self._data.get("id", ""))


class ScenarioResults(_Record):
    """One scenario's results: name, file, cells (Cell objects)."""

    def _wrap(self, key, value):
        if key == "cells":
            return [Cell(c, self._data.get("name", "")) for c in value]
        return value

    def _summary(self):
        return self._data.get("name", "")


class Results(_Record):
    """What a run produced. .cells lists the cells of every scenario in order; .passed is the
    CLI's exit-code rule (no expectation failed, no run errored)."""

    @property
    def cells(self):
        return [Cell(c, s.get("name", "")) for s in self._data.get("scenarios", []) for c in s.get("cells", [])]

    @property
    def passed(self):
        s = self._data.get("summary", {})
        return s.get("expectations_failed", 0) == 0 and s.get("errors", 0) == 0

    def _wrap(self, key, value):
        if key == "scenarios":
            return [ScenarioResults(s) for s in value]
        return value

    def _summary(self):
        s = self._data.get("summary", {})
        return "%s cells, %s runs, passed=%s" % (s.get("cells"), s.get("runs"), self.passed)
