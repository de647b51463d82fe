"""Builds sockchaos._sockchaos and sockchaos-agent with CMake for `pip install .`.

Metadata lives in pyproject.toml. The CMake tree goes under setuptools' build_temp; the module
and the agent are copied into the package (the agent next to __init__.py, where
sockchaos.agent_path() looks for it). Set CMAKE_BUILD_PARALLEL_LEVEL to choose -j (default 2).
"""
import os
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = os.path.abspath(os.path.join(self.build_temp, "cmake"))
        os.makedirs(build_dir, exist_ok=True)
        subprocess.check_call([
            "cmake", "-S", ROOT, "-B", build_dir,
            "-DCMAKE_BUILD_TYPE=Release",
            "-DPython3_EXECUTABLE=" + sys.executable,
            "-DSOCKCHAOS_TESTS=OFF",
            "-DSOCKCHAOS_PYTHON=ON",
        ])
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", "2")
        subprocess.check_call(["cmake", "--build", build_dir, "-j", jobs,
                               "--target", "_sockchaos", "sockchaos-agent"])
        built = os.path.join(build_dir, "python", "sockchaos")
        module = [f for f in os.listdir(built) if f.startswith("_sockchaos") and f.endswith(".so")]
        if len(module) != 1:
            raise RuntimeError("expected one _sockchaos*.so in %s, found %r" % (built, module))
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(os.path.join(built, module[0]), target)
        agent = os.path.join(os.path.dirname(target), "sockchaos-agent")
        shutil.copyfile(os.path.join(build_dir, "sockchaos-agent"), agent)
        os.chmod(agent, 0o755)


# Keep setuptools' own build tree and egg-info out of build/ (the CMake tree of
# scripts/build.sh) and out of the sources.
os.makedirs(os.path.join(ROOT, "build-pip"), exist_ok=True)

setup(
    ext_modules=[CMakeExtension("sockchaos._sockchaos")],
    cmdclass={"build_ext": CMakeBuild},
    options={"build": {"build_base": "build-pip"}, "egg_info": {"egg_base": "build-pip"}},
)
