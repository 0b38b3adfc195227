"""Build and runtime information."""
import importlib.metadata
import os
import platform
import sys

# distribution names; their versions are read without importing them
_DEPENDENCIES = ("numpy", "scipy", "scikit-learn", "joblib", "pythran", "matplotlib")


def _version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def show_config(file=None):
    """Print versions and which implementation of each compiled kernel is loaded.

    Kernels compiled at install time print ``compiled``; a kernel that fell back to
    its pure-Python source (no compiler at install time, or a source checkout that
    was never built) prints ``pure Python (slow)``.

    Parameters
    ----------
    file : file-like, default=None
        Where to print; ``sys.stdout`` when None.

    Returns
    -------
    all_compiled : bool
        Whether every kernel module is the compiled one.

    Examples
    --------
    >>> import skdeep
    >>> skdeep.show_config()  # doctest: +SKIP
    """
    from . import __version__
    from ._kernels import kernel_status

    file = sys.stdout if file is None else file
    lines = [
        f"skdeep {__version__}",
        f"python {platform.python_version()} ({sys.executable})",
        f"platform {platform.platform()}, {os.cpu_count()} CPUs",
        "dependencies:",
    ]
    for name in _DEPENDENCIES:
        lines.append(f"  {name:<14}{_version(name) or 'not installed'}")
    lines.append("kernels:")
    status = kernel_status()
    for name, info in status.items():
        kind = "compiled" if info["compiled"] else "pure Python (slow)"
        if info["stale"]:
            kind += ", source newer than the build: reinstall to recompile"
        lines.append(f"  {name:<14}{kind}  {info['path']}")
    print("\n".join(lines), file=file)
    return all(info["compiled"] for info in status.values())
