"""Fixtures shared by the test modules."""
import pytest

from skdeep.datasets import find_cifar10, load_cifar10


@pytest.fixture(scope="session")
def cifar10_or_none():
    """``load_cifar10``'s four arrays, read once per session, or None without the data."""
    path = find_cifar10()
    if path is None:
        return None
    arrays = load_cifar10(path)
    for array in arrays:  # shared by every test: none may change it
        array.setflags(write=False)
    return arrays


@pytest.fixture(scope="session")
def cifar10(cifar10_or_none):
    """``(X_train, y_train, X_test, y_test)`` of CIFAR-10; the test skips without it."""
    if cifar10_or_none is None:
        pytest.skip("CIFAR-10 not found (set SKDEEP_DATA)")
    return cifar10_or_none
