"""Compiled kernels, private to skdeep.

Each ``_name.py`` here is a Pythran module that is also valid Python.  When the
package is installed, Pythran compiles it to an extension module of the same name,
which Python's import system prefers to the ``.py`` beside it; without a compiler
the ``.py`` runs as is (correct, much slower).  Only the thin wrappers elsewhere in
skdeep import these modules; estimators never call them directly.
"""
import importlib
import importlib.machinery
import os

# GNU OpenMP reads its wait policy once, when the kernels first load it.  Its
# default lets idle threads spin after each parallel region; on a machine with
# few cores they then hold the core that skdeep's block threads and the next
# single-threaded product need, between the many short regions of a training
# step.  Sleeping threads made network fits 20-35 % faster on two cores.  A
# value the user set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

_HERE = os.path.dirname(os.path.abspath(__file__))
# Staleness means something only in a source tree built in place; an installed
# wheel's files carry install-time dates.
_IN_SOURCE_TREE = os.path.exists(os.path.join(_HERE, os.pardir, os.pardir, "setup.py"))


def kernel_names():
    """Names of the kernel modules: every module here that declares a Pythran export."""
    names = []
    for fname in sorted(os.listdir(_HERE)):
        if fname.endswith(".py") and not fname.startswith("__"):
            with open(os.path.join(_HERE, fname)) as f:
                if "#pythran export" in f.read():
                    names.append(fname[:-3])
    return names


def kernel_status():
    """For each kernel module, which implementation is loaded.

    Returns
    -------
    status : dict
        Maps each kernel name to a dict with ``compiled`` (bool), ``path`` (the
        file that was imported) and ``stale`` (True when, in a source tree built in
        place, the Python source is newer than the compiled module, so an edit
        has not been rebuilt yet).
    """
    status = {}
    for name in kernel_names():
        module = importlib.import_module(f"{__name__}.{name}")
        path = module.__file__
        compiled = path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
        source = os.path.join(_HERE, name + ".py")
        stale = (_IN_SOURCE_TREE and compiled
                 and os.path.getmtime(source) > os.path.getmtime(path))
        status[name] = {"compiled": compiled, "path": path, "stale": stale}
    return status
