"""Which names are public: the one list behind the API reference and the docstring test.

A public module is any module of the package whose dotted path has no part
starting with an underscore.  Its public names are its ``__all__`` when it has
one, else the classes and functions it defines whose names do not start with an
underscore.  Constants are not listed: they have no docstring of their own.
Each object is listed once, in the deepest public module that exports it
(``KNNClassifier`` in ``skdeep.neighbors``, not in ``skdeep``).
"""
import importlib
import inspect
import pkgutil


def public_modules():
    """Dotted names of the public modules, deepest first within each package."""
    import skdeep

    names = ["skdeep"]
    for info in pkgutil.walk_packages(skdeep.__path__, "skdeep."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    # deepest first, so that a re-export is attributed to the defining package
    return sorted(names, key=lambda name: (-name.count("."), name))


def _exported(module):
    if hasattr(module, "__all__"):
        return [name for name in module.__all__ if not name.startswith("_")]
    return [name for name, obj in vars(module).items()
            if not name.startswith("_") and (inspect.isclass(obj) or inspect.isfunction(obj))
            and getattr(obj, "__module__", None) == module.__name__]


def public_names():
    """``{module name: [public names]}``: every public class and function, once.

    Returns
    -------
    names : dict of str to list of str
        Modules in dotted-name order, names sorted, modules without public
        classes or functions left out.
    """
    seen = set()
    found = {}
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for name in _exported(module):
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or callable(obj)) or id(obj) in seen:
                continue
            seen.add(id(obj))
            found.setdefault(module_name, []).append(name)
    return {module: sorted(found[module]) for module in sorted(found)}


def public_methods(cls):
    """Public methods of ``cls`` that skdeep defines (not those inherited from scikit-learn).

    Parameters
    ----------
    cls : type
        A public class.

    Returns
    -------
    names : list of str
        Method and property names, sorted.
    """
    names = []
    for name in dir(cls):
        if name.startswith("_"):
            continue
        for klass in cls.__mro__:
            if name in vars(klass):
                attr = vars(klass)[name]
                break
        else:
            continue
        if not klass.__module__.startswith("skdeep"):
            continue
        if isinstance(attr, (staticmethod, classmethod)):
            attr = attr.__func__
        if inspect.isfunction(attr) or isinstance(attr, property):
            names.append(name)
    return sorted(names)
