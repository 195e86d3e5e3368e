"""What importing fastnn costs, and the compile cache: one folder per kernel-source digest shared
by every install path, checked against Numba's own indexes (no timings here: bench/first_run.py
measures them)."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn import compile_cache, precompile

PACKAGE = os.path.dirname(os.path.abspath(fastnn.__file__))
REPO = os.path.dirname(PACKAGE)

# A tiny float32 fit and prediction, watched for compilations; prints what the process compiled
# and loaded (Numba's dispatcher statistics, summed over every kernel), whether the compile
# watch saw anything, the cache folder, where fastnn came from, whether the scipy.linalg package
# was imported, and the weights trained.
TINY_FIT = """
model = fn.Sequential([fn.Dense(3, activation="relu"), fn.Dense(1, activation="sigmoid")],
                      input_dim=2, seed=0)
model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
X = np.ones((8, 2)); y = np.array([0, 1] * 4)
model.fit(X, y, epochs=1, batch_size=4, validation_data=(X, y))
model.predict(X)
"""
TINY_RUN = """
import json, sys, numpy as np, fastnn as fn
from fastnn import compile_cache
cached = fn.kernels_cached()
notes = []
with compile_cache.note_compiling(notes.append) as watch:
    exec(%r)
compiled, loaded = compile_cache.compile_counts()
print(json.dumps({"cached_before": cached, "compiled": compiled, "loaded": loaded,
                  "watched": [watch.compiled, watch.seconds, len(notes)],
                  "folder": compile_cache.CACHE_DIR, "package": fn.__file__,
                  "scipy_linalg": "scipy.linalg" in sys.modules,
                  "params": model.params.tolist()}))
""" % TINY_FIT


def run_python(code, env=None, cwd=None):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, cwd=cwd)
    assert out.returncode == 0, out.stderr
    return out.stdout


def copy_of_package(tmp_path):
    """A second install of this fastnn: the package folder copied elsewhere."""
    target = tmp_path / "second_install"
    shutil.copytree(PACKAGE, target / "fastnn",
                    ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    return target


def environment(path_first=None, **overrides):
    env = dict(os.environ, **overrides)
    if path_first is not None:
        env["PYTHONPATH"] = str(path_first)
    return env


@pytest.fixture(scope="module")
def prepared_float32():
    """``fastnn compile --dtype float32`` on the shared cache (fast when already prepared);
    returns its output."""
    out = subprocess.run([sys.executable, "-m", "fastnn_cli", "compile", "--dtype", "float32"],
                         capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_import_loads_no_optional_dependency_and_not_numba():
    code = ("import sys, fastnn; heavy = [m for m in ('click', 'matplotlib', 'torch', 'pandas', "
            "'numba', 'numba.cuda', 'numpy') if m in sys.modules]; print(','.join(heavy))")
    assert run_python(code).strip() == ""


def test_every_public_name_resolves_on_first_use():
    code = ("import fastnn; names = [n for n in fastnn.__all__ if getattr(fastnn, n) is None]; "
            "from fastnn import *; print(names, set(fastnn.__all__) <= set(dir(fastnn)), "
            "Sequential is fastnn.model.Sequential, fastnn.activations.__name__)")
    assert run_python(code).split() == ["[]", "True", "True", "fastnn.activations"]
    with pytest.raises(AttributeError, match="no attribute 'Sequentail'"):
        fastnn.Sequentail


def test_compile_command_says_what_and_where(prepared_float32):
    assert compile_cache.CACHE_DIR in prepared_float32
    assert "float32:" in prepared_float32


def test_after_compile_a_fresh_process_compiles_nothing(prepared_float32):
    result = json.loads(run_python(TINY_RUN, cwd=REPO))
    assert result["cached_before"] is True
    assert result["compiled"] == 0 and result["loaded"] > 0
    assert result["watched"] == [0, 0.0, 0]  # no compilation seen, no note
    # the kernels loaded from the cache (with no refresh of Numba's registries, and SciPy's
    # BLAS module alone) train as the kernels of this process do
    assert result["scipy_linalg"] is False
    here = {"fn": fastnn, "np": np}
    exec(TINY_FIT, here)
    assert result["params"] == here["model"].params.tolist()


def test_compile_again_only_checks_the_index(prepared_float32):
    reports = precompile.compile_kernels(["float32"])
    assert reports[0]["checked"] and reports[0]["compiled"] == 0


def test_a_second_install_path_reuses_the_cache(prepared_float32, tmp_path):
    second = copy_of_package(tmp_path)
    result = json.loads(run_python(TINY_RUN, env=environment(second), cwd=tmp_path))
    assert result["package"].startswith(str(second))
    assert result["folder"] == compile_cache.CACHE_DIR
    assert result["compiled"] == 0 and result["cached_before"] is True


def test_kernels_cached_is_false_in_a_fresh_install_with_an_empty_cache(tmp_path):
    second = copy_of_package(tmp_path)
    code = "import fastnn as fn; print(fn.kernels_cached(), fn.kernels_cached('float64'))"
    env = environment(second, FASTNN_CACHE_DIR=str(tmp_path / "empty"))
    assert run_python(code, env=env, cwd=tmp_path).split() == ["False", "False"]


def test_a_deleted_data_file_makes_kernels_cached_false(prepared_float32, tmp_path):
    assert fastnn.kernels_cached()
    root = tmp_path / "root"
    folder = root / os.path.basename(compile_cache.CACHE_DIR)
    shutil.copytree(compile_cache.CACHE_DIR, folder)
    prepared = json.loads(next(folder.glob("prepared-*.json")).read_text())
    assert "training.train_batches" in prepared["float32"]["kernels"]
    for data_file in folder.glob("training.*.nbc"):
        data_file.unlink()
    code = "import fastnn as fn; print(fn.kernels_cached())"
    env = environment(FASTNN_CACHE_DIR=str(root))
    assert run_python(code, env=env, cwd=REPO).strip() == "False"


@pytest.mark.parametrize("variable, expected", [
    ("FASTNN_CACHE_DIR", "{dir}"),
    ("NUMBA_CACHE_DIR", os.path.join("{dir}", "fastnn")),
    ("XDG_CACHE_HOME", os.path.join("{dir}", "fastnn")),
])
def test_cache_root_follows_the_environment(monkeypatch, tmp_path, variable, expected):
    for name in ("FASTNN_CACHE_DIR", "NUMBA_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, str(tmp_path))
    assert compile_cache.cache_root() == expected.format(dir=tmp_path)


def test_unwritable_cache_folder_falls_back_to_no_cache(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    env = environment(FASTNN_CACHE_DIR=str(blocker / "sub"))
    code = ("import fastnn as fn; from fastnn import compile_cache as c; "
            "print(c.CACHE_DIR, fn.kernels_cached())")
    assert run_python(code, env=env).split() == ["None", "False"]


def test_a_save_that_fails_is_not_an_error(monkeypatch):
    dispatcher = compile_cache.KERNELS[0]
    if not isinstance(dispatcher._cache, compile_cache.KernelCache):
        pytest.skip("no usable cache folder here")

    def read_only(*args):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(dispatcher._cache._impl, "check_cachable", lambda data: True)
    monkeypatch.setattr(dispatcher._cache._impl.locator, "ensure_cache_path", read_only)
    dispatcher._cache.save_overload(None, object())  # would raise without the guard


def test_clean_removes_only_other_versions_folders(tmp_path):
    names = ["kernels-0123456789abcdef", "numba-0123456789abcdef", "kernels-notahash",
             "my-notes", os.path.basename(compile_cache.CACHE_DIR or "kernels-none")]
    for name in names:
        (tmp_path / name).mkdir()
        (tmp_path / name / "x.nbi").write_bytes(b"12345")
    removed = compile_cache.clean(tmp_path)
    assert sorted(os.path.basename(path) for path, _ in removed) == names[:2]
    assert all(size == 5 for _, size in removed)
    assert sorted(os.listdir(tmp_path)) == sorted(names[2:])


def test_a_kernel_outside_the_kernels_folder_is_refused():
    import numba

    with pytest.raises(ValueError, match="must live under"):
        compile_cache.register(numba.njit(lambda x: x))


@pytest.mark.parametrize("registry, covered", [
    (fastnn.activations.ACTIVATIONS, "activation"),
    (fastnn.losses.LOSSES, "loss"),
    (fastnn.optimizers.OPTIMIZERS, "optimizer"),
    (fastnn.optimizers.PRESETS, "optimizer"),
    (fastnn.schedules.SCHEDULES, "schedule"),
])
def test_the_precompile_runs_cover_every_registered_name(registry, covered):
    names = {what.split(" ", 1)[1] for what, _ in precompile.workloads("float32")
             if what.startswith(covered + " ")}
    assert set(registry) <= names


def test_the_precompile_network_has_every_layer_kind():
    kinds = {type(layer).__name__ for layer in precompile.every_layer_kind()}
    assert kinds == set(fastnn.layers.LAYERS)


def test_note_compiling_says_so_once_when_a_kernel_compiles(tmp_path):
    code = ("import numpy as np, fastnn as fn\n"
            "from fastnn import compile_cache\n"
            "notes = []\n"
            "with compile_cache.note_compiling(notes.append) as watch:\n"
            "    fn.Perceptron(max_epochs=1).fit(np.eye(2), np.array([0, 1]))\n"
            "print(watch.compiled, watch.seconds, len(notes), notes[0])")
    env = environment(FASTNN_CACHE_DIR=str(tmp_path))
    compiled, seconds, calls, note = run_python(code, env=env, cwd=REPO).split(" ", 3)
    assert int(compiled) >= 1 and float(seconds) > 0 and calls == "1"
    # nothing is prepared in the empty folder: a first model compiles its own kernels only
    assert note.startswith("compiling the kernels this model uses") and str(tmp_path) in note


def test_version():
    assert fastnn.__version__


def test_compile_without_a_usable_folder_is_one_error_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    out = subprocess.run([sys.executable, "-m", "fastnn_cli", "compile"], capture_output=True,
                         text=True, cwd=REPO, env=environment(FASTNN_CACHE_DIR=str(blocker / "x")))
    assert out.returncode == 1
    assert out.stderr.startswith("Error: no usable cache folder") and out.stderr.count("\n") == 1


@pytest.fixture
def build_backend(monkeypatch):
    monkeypatch.syspath_prepend(os.path.join(REPO, "build_backend"))
    monkeypatch.chdir(REPO)
    import fastnn_build

    return fastnn_build


@pytest.mark.parametrize("installed, switch, expected_numba", [
    ({"numba": "0.68.1", "numpy": "2.4.6"}, "1", "numba==0.68.1"),
    ({}, "1", "numba>="),
    ({"numba": "0.68.1"}, "0", None),
])
def test_the_build_asks_for_the_target_environments_numba(build_backend, monkeypatch, installed,
                                                           switch, expected_numba):
    monkeypatch.setattr(build_backend, "_installed_versions", lambda: installed)
    monkeypatch.setenv("FASTNN_BUILD_COMPILE", switch)
    requirements = build_backend.compile_requirements()
    numba = [r for r in requirements if r.startswith("numba")]
    if expected_numba is None:
        assert requirements == []
    else:
        assert len(numba) == 1 and numba[0].startswith(expected_numba)
        assert not any(r.startswith(("click", "pandas", "pyarrow", "rich")) for r in requirements)


def test_the_build_reads_the_installed_numba_version(build_backend):
    import numba

    assert build_backend._installed_versions()["numba"] == numba.__version__


def test_scipy_blas_module_loads_alone_or_by_the_usual_import(monkeypatch):
    from fastnn import scipy_blas

    monkeypatch.delitem(sys.modules, scipy_blas.NAME)
    alone = scipy_blas._load_alone()  # from its file, under its usual name
    assert alone is not None and sys.modules[scipy_blas.NAME] is alone
    assert hasattr(alone, "__pyx_capi__") and scipy_blas.load() is alone
    assert os.path.basename(os.path.dirname(alone.__file__)) == "linalg"
    monkeypatch.delitem(sys.modules, scipy_blas.NAME)
    monkeypatch.setattr(scipy_blas, "_load_alone", lambda: None)  # no such file: import it
    assert hasattr(scipy_blas.load(), "__pyx_capi__")
