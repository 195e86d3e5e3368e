"""fastnn's build backend: setuptools, then the float32 kernels compiled into the user's cache.

``pip install .`` and ``pip install -e .`` build the package with setuptools, then run
``python -m fastnn.precompile --dtype float32`` from the source tree, which compiles every kernel
a float32 run needs into fastnn's cache folder (fastnn.compile_cache: keyed on the kernel
sources and the Numba version, not on the install path), so the installed package's first run
loads them. The compiled code is valid only for the Numba version that made it, so the build
environment gets the project's dependencies (but the command's) at the versions the target already
has, or else at the project's own requirements (which a fresh install resolves the same way).
A failed or skipped compilation never fails the build: the kernels are then compiled on first
use. ``FASTNN_BUILD_COMPILE=0`` skips it (for building wheels to distribute).
"""

import json
import os
import subprocess
import sys
import sysconfig
import time
from importlib import metadata

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F401,F403  (every hook not redefined here)

# Dependencies of the command only: the compile step imports the library, not the command.
COMMAND_ONLY_DISTRIBUTIONS = ("click", "pandas", "pyarrow", "rich")


def _project_dependencies():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    with open("pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["dependencies"]


def _requirement_name(requirement):
    for stop in "<>=!~;[ ":
        requirement = requirement.split(stop, 1)[0]
    return requirement.strip().lower().replace("_", "-")


def _installed_versions():
    """{distribution name: version} in the environment being installed into (the build runs
    with that environment's interpreter, with its site-packages hidden from sys.path)."""
    paths = sorted({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")})
    return {dist.metadata["Name"].lower(): dist.version
            for dist in metadata.distributions(path=paths) if dist.metadata["Name"]}


def compile_requirements():
    """The project's dependencies but the command's, pinned to the target environment's
    versions when present."""
    if not _compiling():
        return []
    installed = _installed_versions()
    requirements = []
    for requirement in _project_dependencies():
        name = _requirement_name(requirement)
        if name not in COMMAND_ONLY_DISTRIBUTIONS:
            requirements.append(f"{name}=={installed[name]}" if name in installed
                                 else requirement)
    return requirements


def _compiling():
    return os.environ.get("FASTNN_BUILD_COMPILE", "1") != "0"


def compile_kernels():
    """Compile the float32 kernels from the source tree; report on stderr, never raise."""
    if not _compiling():
        return
    source = os.getcwd()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [source] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "fastnn.precompile", "--dtype", "float32"],
                         cwd=source, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        print(f"fastnn: compiling the kernels at install failed (they will be compiled on "
              f"first use): {out.stderr.strip()[-1000:]}", file=sys.stderr)
        return
    report = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"fastnn: float32 kernels ready in {report['folder']} ({report['compiled']} "
          f"compiled, {report['loaded']} already cached, {seconds:.1f} s)", file=sys.stderr)


def get_requires_for_build_wheel(config_settings=None):
    return _setuptools.get_requires_for_build_wheel(config_settings) + compile_requirements()


def get_requires_for_build_editable(config_settings=None):
    return _setuptools.get_requires_for_build_editable(config_settings) + compile_requirements()


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)
    compile_kernels()
    return name


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    name = _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)
    compile_kernels()
    return name
