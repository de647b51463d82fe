"""Shared helpers for the sockchaos pytest suite. The suite runs with the plugin loaded
(`-p sockchaos.pytest_plugin`, or automatically when installed); pytester drives inner
sessions for the plugin's own tests."""
import os
import shutil

import pytest

import sockchaos

pytest_plugins = ["pytester"]

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIOS = os.path.join(REPO, "scenarios")


def cli_path():
    """The sockchaos CLI built with this module (next to its agent), or $SOCKCHAOS_CLI."""
    env = os.environ.get("SOCKCHAOS_CLI")
    if env:
        return env
    candidate = os.path.join(os.path.dirname(sockchaos.agent_path()), "sockchaos")
    if os.access(candidate, os.X_OK):
        return candidate
    return shutil.which("sockchaos")


@pytest.fixture
def cli():
    path = cli_path()
    if not path:
        pytest.skip("the sockchaos CLI is not built next to the agent (set SOCKCHAOS_CLI)")
    return path


_MISSING = None


def missing_features():
    """What `sockchaos doctor` finds missing here (essential checks), "" when nothing is."""
    global _MISSING
    if _MISSING is None:
        _MISSING = "; ".join("%s: %s (%s)" % (c["name"], c["detail"], c["fix"])
                             for c in sockchaos.doctor() if c["essential"] and not c["ok"])
    return _MISSING


def require_features():
    """Skips, naming what is missing and how to fix it, unless the doctor's probes all pass."""
    missing = missing_features()
    if missing:
        pytest.skip("missing: " + missing)


def net_namespace_fds():
    """How many fds this process holds on network namespaces."""
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink("/proc/self/fd/" + fd).startswith("net:["):
                n += 1
        except OSError:
            pass
    return n


def _is_process_wide_helper(pid):
    """The process-wide scratch reaper (`sockchaos-agent reap ROOT`) and agent zygote
    (`sockchaos-agent zygote`, which forks the agents) live as long as this interpreter by
    design: the reaper removes the scratch root when the process dies, the zygote exits with it."""
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return False
    return len(argv) >= 2 and argv[0].endswith(b"sockchaos-agent") and argv[1] in (b"reap", b"zygote")


def children_of(pid):
    """Live processes whose parent is pid."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z" and not _is_process_wide_helper(entry):
            out.append(int(entry))
    return out


# The folder holding the sockchaos package being tested (for child interpreters).
BUILD_PYTHON_HINT = os.path.dirname(os.path.dirname(os.path.abspath(sockchaos.__file__)))
