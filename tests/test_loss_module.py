"""The score losses live in one small module that the linear models and the engine share."""
import subprocess
import sys

from skdeep import _loss
from skdeep.linear_model import _classifiers, _losses
from skdeep.nn import layers


def test_layers_reexport_the_shared_losses():
    # the public names in skdeep.nn.layers are the very objects the linear models use
    assert layers.softmax_loss is _loss.softmax_loss
    assert layers.svm_loss is _loss.svm_loss
    assert _losses.softmax_loss is _loss.softmax_loss
    assert _classifiers.svm_loss is _loss.svm_loss


def test_linear_model_does_not_load_the_conv_engine():
    # a fresh interpreter, as a user's: this test process has imported layers already
    code = "import sys, skdeep.linear_model; print(' '.join(sorted(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                            text=True).stdout.split()
    assert "skdeep.linear_model" in loaded
    assert "skdeep.nn.layers" not in loaded
    assert "skdeep._kernels._conv" not in loaded
