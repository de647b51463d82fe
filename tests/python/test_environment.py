# Environment problems: SockchaosEnvironmentError (an OSError) whose .advice is doctor's.
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

import sockchaos
from conftest import REPO
from test_validate import small_scenario

BUILD_PYTHON = os.path.dirname(os.path.dirname(os.path.abspath(sockchaos.__file__)))


def test_missing_agent_raises_environment_error_with_doctor_advice(monkeypatch, cli):
    monkeypatch.setenv("SOCKCHAOS_AGENT", "/nonexistent/sockchaos-agent")
    with pytest.raises(sockchaos.SockchaosEnvironmentError) as info:
        sockchaos.run(small_scenario())
    err = info.value
    assert isinstance(err, OSError)
    assert err.advice
    assert err.advice in str(err)
    if os.geteuid() == 0:
        assert "SOCKCHAOS_AGENT" in err.advice
    # Exactly what `sockchaos doctor` says.
    proc = subprocess.run([cli, "doctor"], capture_output=True, text=True,
                          env=dict(os.environ, SOCKCHAOS_AGENT="/nonexistent/sockchaos-agent"))
    assert proc.returncode == 3
    assert err.advice in proc.stderr


def test_doctor_as_data():
    checks = sockchaos.doctor()
    assert checks and {"name", "ok", "essential", "detail", "fix"} <= set(checks[0])
    if os.geteuid() == 0:
        assert all(c["ok"] for c in checks if c["essential"]), checks


UNPRIVILEGED = r"""
import json, sys, sockchaos
out = {}
try:
    sockchaos.run(json.loads(sys.argv[1]))
except sockchaos.SockchaosEnvironmentError as e:
    out["run"] = [isinstance(e, OSError), e.advice]
try:
    with sockchaos.Lab() as lab:
        pass
except sockchaos.SockchaosEnvironmentError as e:
    out["lab"] = [isinstance(e, OSError), e.advice]
out["doctor"] = sockchaos._sockchaos.doctor_advice(sockchaos.agent_path())
print(json.dumps(out))
"""

PLUGIN_TEST = r"""
def test_lab(sockchaos_lab):
    pass

def test_run(sockchaos_run):
    sockchaos_run({})
"""


def _as_nobody(argv, cwd):
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or not setpriv:
        pytest.skip("needs root and setpriv to drop to an unprivileged user")
    for path in (BUILD_PYTHON, REPO):
        if os.stat(path).st_mode & 0o005 != 0o005:
            pytest.skip("%s is not readable by other users" % path)
    env = dict(os.environ, PYTHONPATH=BUILD_PYTHON, HOME=cwd, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                           "--bounding-set=-all"] + argv, capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=120)


@pytest.fixture
def public_tmp():
    path = tempfile.mkdtemp(prefix="sockchaos-py-")
    os.chmod(path, 0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_unprivileged_run_and_lab_raise_with_doctor_advice(public_tmp):
    import json
    proc = _as_nobody(["/usr/bin/python3", "-c", UNPRIVILEGED, json.dumps(small_scenario())], public_tmp)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["doctor"].startswith("privileges")
    assert out["run"] == [True, out["doctor"]]
    assert out["lab"] == [True, out["doctor"]]


def test_plugin_skips_with_reason_when_not_root(public_tmp):
    with open(os.path.join(public_tmp, "test_unpriv.py"), "w") as f:
        f.write(PLUGIN_TEST)
    proc = _as_nobody([sys.executable if sys.executable.startswith("/usr/bin/") else "/usr/bin/python3",
                       "-m", "pytest", "-rs", "-p", "no:cacheprovider", "-p", "sockchaos.pytest_plugin",
                       "test_unpriv.py"], public_tmp)
    assert "2 skipped" in proc.stdout, proc.stdout + proc.stderr
    assert "sockchaos needs root" in proc.stdout
