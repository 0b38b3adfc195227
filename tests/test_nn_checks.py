"""The engine's argument checks (skdeep/nn/_checks.py) and their use at entry."""
import numpy as np
import pytest

from skdeep.nn import _checks


def test_check_array_never_copies_and_refuses_rank_and_dtype():
    x = np.zeros((4, 5))
    assert _checks.check_array(x, "x", ndim=2) is x
    with pytest.raises(ValueError, match=r"x must be a 2-D array of shape \(N, D\), "
                                         r"got an array of shape \(4, 5, 1\)"):
        _checks.check_array(x[..., None], "x", ndim=2, shape_doc="(N, D)")
    with pytest.raises(ValueError, match="w must have at least 2 dimensions"):
        _checks.check_array(np.zeros(3), "w", min_ndim=2)
    with pytest.raises(TypeError, match="x must be an array of real numbers, got dtype"):
        _checks.check_array(np.array(["a"]), "x")
    with pytest.raises(TypeError, match="floating point"):
        _checks.check_array(np.zeros(3, dtype=int), "x", floating=True)


def test_check_shape_names_argument_and_reason():
    with pytest.raises(ValueError, match=r"b must have shape \(3,\) to match w, got "
                                         r"shape \(4,\)"):
        _checks.check_shape(np.zeros(4), "b", (3,), "to match w")
    _checks.check_shape(np.zeros((2, 3)), "x", (None, 3))


def test_check_labels():
    y = np.array([0, 2, 1])
    assert _checks.check_labels(y, 3, 3) is y
    with pytest.raises(ValueError, match=r"y must be a 1-D array of shape \(3,\)"):
        _checks.check_labels(y[:, None], 3, 3)
    with pytest.raises(ValueError, match="y holds the label -1"):
        _checks.check_labels(np.array([0, -1, 1]), 3, 3)
    with pytest.raises(ValueError, match="y holds the label 3 but there are only 3"):
        _checks.check_labels(np.array([0, 3, 1]), 3, 3)
    with pytest.raises(ValueError, match="y has 2 labels but there are 3 samples"):
        _checks.check_labels(np.array([0, 1]), 3, 3)
    with pytest.raises(TypeError, match="y must hold integer class labels"):
        _checks.check_labels(np.array([0.0, 1.0, 1.0]), 3, 3)


@pytest.mark.parametrize("value, kwargs, message", [
    (np.inf, {"low": 0}, "reg must be a finite number >= 0, got inf"),
    (-1.0, {"low": 0}, "reg must be a finite number >= 0, got -1.0"),
    (1.0, {"low": 0, "high": 1, "high_open": True}, r"in \[0, 1\), got 1.0"),
    (0.0, {"low": 0, "low_open": True}, "> 0"),
    (np.nan, {}, "must be a finite number, got nan"),
])
def test_check_number_refuses_out_of_range(value, kwargs, message):
    with pytest.raises(ValueError, match=message):
        _checks.check_number(value, "reg", **kwargs)


def test_check_number_and_int_refuse_bools_and_strings():
    for bad in (True, "1", None):
        with pytest.raises(TypeError, match="reg must be a real number"):
            _checks.check_number(bad, "reg")
        with pytest.raises(TypeError, match="batch_size must be an int"):
            _checks.check_int(bad, "batch_size")
    assert _checks.check_int(None, "n", allow_none=True) is None
    with pytest.raises(ValueError, match="batch_size must be an int >= 1, got 0"):
        _checks.check_int(0, "batch_size")


def test_check_mode_dict_and_cache():
    with pytest.raises(TypeError, match="bn_param must be a dict, got list"):
        _checks.check_mode([], "bn_param")
    with pytest.raises(ValueError, match="bn_param must have the key 'mode'"):
        _checks.check_mode({}, "bn_param")
    with pytest.raises(ValueError, match=r"bn_param\['mode'\] must be one of 'train', "
                                         r"'test'; got 'eval'"):
        _checks.check_mode({"mode": "eval"}, "bn_param")
    with pytest.raises(ValueError, match="cache is None: batchnorm_forward keeps no "
                                         "cache in test mode"):
        _checks.check_cache(None, 8, "batchnorm_forward")
    with pytest.raises(ValueError, match="tuple of 3 entries returned by affine_forward"):
        _checks.check_cache((1, 2), 3, "affine_forward")
