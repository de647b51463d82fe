"""Shapes of the plain values that cross from the C++ side besides results (TypedDicts: they
are dicts at run time). Shared by the extension's stub (_sockchaos.pyi) and the package."""
from __future__ import annotations

from typing import TypedDict

__all__ = ["ScenarioIssue", "DoctorCheck", "ValidatedScenario"]


class ScenarioIssue(TypedDict):
    """One item of ScenarioError.issues: where (file, line, JSON Pointer) and what."""
    file: str
    pointer: str
    line: int
    message: str


class DoctorCheck(TypedDict):
    """One check of `sockchaos doctor`, as sockchaos.doctor() returns it."""
    name: str
    ok: bool
    essential: bool
    detail: str
    fix: str


class ValidatedScenario(TypedDict):
    """One scenario that sockchaos.validate() accepted, with its number of matrix cells."""
    file: str
    name: str
    cells: int
