"""Every public docstring passes numpydoc's validation, as scikit-learn checks its own.

The names are enumerated at collection time (:mod:`skdeep._public`: every public
class and function, and the public methods skdeep defines on its classes), so a
new public name is covered without editing this file.  numpydoc is in the ``test``
extra: a missing numpydoc fails this module instead of skipping it.
"""
import importlib
import inspect

import numpydoc.validate as numpydoc_validate
import pytest
from numpydoc.docscrape import NumpyDocString

from skdeep._public import public_methods, public_names

# Checks not enforced, as in scikit-learn's own list:
IGNORED_CHECKS = {
    # RT02: a single return value is named ("fig : Figure"), as in scikit-learn,
    # so that the text can refer to it
    "RT02",
    # GL01: the summary starts on the line of the opening quotes (house style, as
    # in NumPy and scikit-learn's code), not on the next line
    "GL01",
    # ES01: an extended summary is welcome but not required
    "ES01",
    # SA01: a See Also section is welcome but not required
    "SA01",
    # EX01: Examples sections are welcome but not required
    "EX01",
    # PR08, RT04: a description may begin with a name spelt in lower case
    # ("skdeep extension: ...", "joblib jobs ...", a parameter's name)
    "PR08",
    "RT04",
}

# Checks not enforced for one name, and why.
IGNORED_FOR = {
    # Solver(model, data, **options) as in the CS231n reference implementation;
    # the docstring documents each option as a parameter of its own
    "skdeep.nn.solver.Solver": {"PR01", "PR02"},
}


def _public_objects():
    """``{import path: object}`` for every public name and public method."""
    objects = {}
    for module_name, names in public_names().items():
        module = importlib.import_module(module_name)
        for name in names:
            obj = getattr(module, name)
            objects[f"{module_name}.{name}"] = obj
            if inspect.isclass(obj):
                objects.update((f"{module_name}.{name}.{method}", getattr(obj, method))
                               for method in public_methods(obj))
    return objects


PUBLIC_OBJECTS = _public_objects()


def _import_paths():
    return list(PUBLIC_OBJECTS)


def test_every_public_module_is_enumerated():
    """The enumeration is not vacuous: it reaches the estimators and the engine."""
    paths = set(_import_paths())
    for path in ["skdeep.neighbors.KNNClassifier.fit", "skdeep.nn.layers.affine_forward",
                 "skdeep.nn.solver.Solver.train", "skdeep.datasets.fetch_cifar10",
                 "skdeep.plotting.plot_history", "skdeep.show_config"]:
        assert path in paths


@pytest.mark.parametrize("import_path", _import_paths())
def test_docstring(import_path):
    result = numpydoc_validate.validate(import_path)
    ignored = IGNORED_CHECKS | IGNORED_FOR.get(import_path, set())
    errors = [(code, message) for code, message in result["errors"]
              if code not in ignored]
    if errors:
        listed = "\n".join(f"  {code}: {message}" for code, message in errors)
        raise ValueError(f"{import_path} ({result['file']}:{result['file_line']}) "
                         f"fails numpydoc validation:\n{listed}")


@pytest.mark.parametrize("import_path", _import_paths())
def test_every_parameter_has_a_description(import_path):
    """numpydoc skips its empty-description check (PR07) for a parameter whose type is
    a set of options (``normalization : {'batchnorm', 'layernorm'}``); this does not."""
    obj = PUBLIC_OBJECTS[import_path]
    if isinstance(obj, property):
        obj = obj.fget
    doc = NumpyDocString(inspect.getdoc(obj) or "")
    empty = [param.name for section in ("Parameters", "Other Parameters")
             for param in doc[section] if not "".join(param.desc).strip()]
    assert empty == [], f"{import_path}: parameters without a description"
