"""SciPy's Cython BLAS module (scipy.linalg.cython_blas), loaded on its own.

Numba's compiled matrix products call SciPy's BLAS (``sgemm``/``dgemm``), whose addresses Numba
takes from that module at the first product; threadpoolctl finds the BLAS library once it is
loaded. Importing the module the usual way first imports the whole scipy.linalg package, which
costs more than the rest of a warm start-up's numerical imports together (docs/compile.md).
``load`` loads just the one extension module from its file, under its usual name, so that every
later import of it (Numba's too) finds it loaded; when that is not possible it imports it the
usual way.
"""

import importlib
import importlib.machinery
import importlib.util
import os
import sys

NAME = "scipy.linalg.cython_blas"


def load():
    """The module scipy.linalg.cython_blas (loaded once per process)."""
    module = sys.modules.get(NAME)
    if module is None:
        try:
            module = _load_alone()
        except (ImportError, OSError):
            sys.modules.pop(NAME, None)
    return module if module is not None else importlib.import_module(NAME)


def _load_alone():
    """The extension module loaded from scipy/linalg/ without running scipy.linalg's
    __init__, or None when SciPy's folder holds no such file."""
    scipy = importlib.util.find_spec("scipy")
    for folder in (scipy.submodule_search_locations or []) if scipy else []:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = os.path.join(folder, "linalg", "cython_blas" + suffix)
            if os.path.isfile(path):
                spec = importlib.util.spec_from_file_location(NAME, path)
                module = importlib.util.module_from_spec(spec)
                sys.modules[NAME] = module
                spec.loader.exec_module(module)
                return module
    return None
