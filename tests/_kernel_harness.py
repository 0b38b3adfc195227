"""The one harness for "the kernel's pure-Python source agrees with the loaded kernel".

Each kernel's ``.py`` is its own fallback when it is not compiled, so every kernel
test that matters should hold for both.  ``kernel_pair(name)`` gives the loaded
module (compiled where built) and the source executed as plain Python.
"""
import importlib
import importlib.util
import os

import skdeep._kernels


def load_pure_python(name):
    """The kernel's .py source as plain Python, whatever is compiled beside it."""
    path = os.path.join(os.path.dirname(skdeep._kernels.__file__), f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"pure_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def kernel_pair(name):
    """``(loaded, pure)``: the imported kernel module and its source as Python."""
    loaded = importlib.import_module(f"skdeep._kernels.{name}")
    return loaded, load_pure_python(name)

