"""Plots people would rather look at than read (needs matplotlib: ``pip install skdeep[plot]``).

Each function imports matplotlib when called, so importing this module stays cheap
and works without matplotlib installed.
"""
import importlib

# public name -> private submodule defining it
_LAZY = {
    "plot_conv_filters": "_filters",
    "plot_history": "_history",
    "plot_class_templates": "_templates",
    "plot_image_gallery": "_gallery",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


def _import_pyplot():
    """matplotlib.pyplot, or an ImportError that says how to get it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "skdeep.plotting needs matplotlib; install it with "
            "`pip install skdeep[plot]` or `pip install matplotlib`."
        ) from exc
    return plt
