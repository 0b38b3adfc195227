"""Tests of the ``skdeep`` command: subcommands, leaderboard, report, errors.

Runs are kept small (a few models, a few hundred digits, or a made-up CIFAR-10 of
a hundred random images); the full ladder is what README's Quick start runs in CI.
Nothing touches the internet: fetch-cifar10 is served a local archive by file URL.
"""
import hashlib
import io
import os
import pickle
import re
import subprocess
import sys
import tarfile

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import ParameterGrid, StratifiedKFold

from skdeep._cli import _ladder, _main, _progress
from skdeep._cli import digits_main, main
from skdeep.datasets import _cifar10
from skdeep.datasets._base import RemoteFileMetadata

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
           "horse", "ship", "truck"]
SMALL_DIGITS = ["--n-train", "300", "--n-test", "100", "--no-progress"]


@pytest.fixture
def tiny_settings(monkeypatch):
    """Presets cut to a single short fit per grid point: the tests check plumbing."""
    settings = _ladder.settings

    def tiny(dataset, preset):
        return dict(settings(dataset, preset), linear_iters=30, linear_lr=[1e-3],
                    linear_reg=[1e-4], mlp_epochs=3, conv_epochs=1)

    monkeypatch.setattr(_ladder, "settings", tiny)


def run_main(argv):
    """``main(argv)`` in-process: (exit status, what it printed on stdout)."""
    out = io.StringIO()
    status = main(argv, out=out)
    return status, out.getvalue()


def run_command(*args, env=None):
    """``python -m skdeep ARGS`` in a subprocess, as a user runs it."""
    # a generous bound: a hang fails this test instead of stalling the suite
    return subprocess.run([sys.executable, "-m", "skdeep", *args], capture_output=True,
                          text=True, timeout=300, env=env)


def leaderboard(text):
    """{model name: (cv accuracy, test accuracy)} from the printed leaderboard."""
    rows = {}
    for line in text.splitlines():
        match = re.match(r"^(\S.*?)\s{2,}.*?(\d\.\d{3}) ± \d\.\d{3}\s+(\d\.\d{3})\s+"
                         r"[\d.]+s\s+[\d.]+s$", line)
        if match:
            rows[match.group(1)] = (float(match.group(2)), float(match.group(3)))
    return rows


def write_cifar_dir(directory, n_per_batch=20, n_test=30, seed=0):
    """A made-up cifar-10-batches-py directory: random pixels, every class in turn."""
    rng = np.random.RandomState(seed)
    os.makedirs(directory, exist_ok=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name, n in zip(names, [n_per_batch] * 5 + [n_test]):
        rows = rng.randint(0, 256, size=(n, 3072)).astype(np.uint8)
        batch = {"batch_label": name, "labels": [i % 10 for i in range(n)], "data": rows}
        with open(os.path.join(directory, name), "wb") as f:
            pickle.dump(batch, f, protocol=2)
    with open(os.path.join(directory, "batches.meta"), "wb") as f:
        pickle.dump({"label_names": CLASSES, "num_cases_per_batch": 10000,
                     "num_vis": 3072}, f, protocol=2)


def test_ladder_prints_a_row_per_chosen_model_with_real_accuracies():
    status, out = run_main(["ladder", "--models", "knn-l2,softmax", *SMALL_DIGITS])
    assert status == 0
    rows = leaderboard(out)
    assert list(rows) == ["kNN (L2)", "softmax"]
    # 300 digits suffice for both: 1-NN and a linear model score well above 0.8
    for cv, test in rows.values():
        assert 0.8 < cv <= 1 and 0.8 < test <= 1
    assert "300 training and 100 test images" in out
    assert re.search(r"best by cross-validation: (kNN \(L2\)|softmax), test accuracy", out)


def test_no_subcommand_runs_the_ladder_and_the_old_name_is_an_alias(capsys):
    status, out = run_main(["--models", "knn-l1", *SMALL_DIGITS])
    assert status == 0 and list(leaderboard(out)) == ["kNN (L1)"]

    assert digits_main(["--models", "knn-l1", *SMALL_DIGITS]) == 0
    assert list(leaderboard(capsys.readouterr().out)) == ["kNN (L1)"]


def test_default_ladder_has_every_model():
    rungs = _ladder.build_ladder(_ladder.load_digits_dataset())
    assert [rung.name for rung in rungs] == [
        "kNN (L2)", "kNN (L1)", "linear SVM", "softmax", "HOG + linear SVM", "HOG + MLP",
        "MLP (batchnorm, dropout)", "ConvNet"]
    # --models accepts exactly these keys
    assert [rung.key for rung in rungs] == list(_ladder.RUNG_KEYS) == [
        "knn-l2", "knn-l1", "svm", "softmax", "features-svm", "features-mlp", "mlp",
        "convnet"]


def _validate_every_estimator(estimator):
    """Check the parameters of ``estimator`` and of every estimator inside it, as fit does.

    Each is held to the constraints it declares (every skdeep and scikit-learn
    estimator of the ladder but FeatureUnion declares some).
    """
    for part in [estimator, *estimator.get_params(deep=True).values()]:
        if hasattr(part, "_parameter_constraints"):
            part._validate_params()


@pytest.mark.parametrize("preset", _ladder.PRESETS)
@pytest.mark.parametrize("data", ["digits", "cifar10"])
def test_every_grid_point_of_every_rung_is_a_valid_estimator(data, preset, tmp_path):
    if data == "digits":
        dataset = _ladder.load_digits_dataset()
    else:
        write_cifar_dir(tmp_path / "cifar-10-batches-py")
        dataset = _ladder.load_cifar10_dataset(str(tmp_path), n_train=60, n_test=30)
    StratifiedKFold(_ladder.settings(dataset, preset)["cv"])  # refuses fewer than 2 folds
    for rung in _ladder.build_ladder(dataset, preset):
        for point in ParameterGrid(rung.grid):
            estimator = clone(rung.estimator).set_params(**point)
            params = estimator.get_params(deep=True)
            assert {key: params[key] for key in point} == point, rung.key
            _validate_every_estimator(estimator)


def test_python_m_skdeep_runs_as_a_subprocess():
    result = run_command("ladder", "--models", "knn-l2", *SMALL_DIGITS)
    assert result.returncode == 0, result.stderr
    assert list(leaderboard(result.stdout)) == ["kNN (L2)"]
    assert "kernels compiled" in result.stdout


@pytest.mark.parametrize("command, expected", [
    ([], ["ladder", "info", "fetch-cifar10"]),
    (["ladder"], ["--data", "--data-home", "--n-train", "--n-test", "--preset",
                  "--models", "--report", "--progress"]),
    (["info"], ["show_config"]),
    (["fetch-cifar10"], ["--data-home", "MD5"]),
])
def test_help_of_every_subcommand(command, expected, capsys):
    assert main([*command, "--help"]) == 0
    shown = capsys.readouterr()
    for word in expected:
        assert word in shown.out
    assert shown.err == ""


@pytest.mark.parametrize("argv, status, message", [
    (["ladder", "--preset", "slow"], 2, "argument --preset: invalid choice: 'slow'"),
    (["ladder", "--n-train", "0"], 2, "argument --n-train: expected a positive integer"),
    (["ladder", "--frobnicate"], 2, "unrecognized arguments: --frobnicate"),
    (["nonsense"], 2, "invalid choice: 'nonsense'"),
    (["ladder", "--models", "knn-l3"], 2, "argument --models: unknown model 'knn-l3'"),
    (["ladder", "--models", "knn-l2", "--n-train", "20"], 1,
     "3-fold cross-validation needs at least 3 training images of every class"),
])
def test_bad_options_give_one_line_and_a_nonzero_status(argv, status, message, capsys):
    assert main(argv, out=io.StringIO()) == status
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert message in lines[0]


def test_a_bad_option_in_a_real_process_is_one_line_without_traceback():
    result = run_command("ladder", "--preset", "slow")
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("skdeep ladder: error: argument --preset: invalid choice: 'slow'")
    assert line.endswith("(see skdeep ladder --help)")


def test_missing_cifar10_is_one_line_naming_the_way_to_get_it(tmp_path):
    env = dict(os.environ, SKDEEP_DATA=str(tmp_path / "empty"))
    result = run_command("ladder", "--data", "cifar10", env=env)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("skdeep ladder: error: CIFAR-10 not found in ")
    assert "skdeep fetch-cifar10" in lines[0] and "--download" in lines[0]
    assert not (tmp_path / "empty" / "cifar-10-batches-py").exists()


def test_cifar10_ladder_writes_a_report(tmp_path, capsys, tiny_settings):
    data = tmp_path / "data" / "cifar-10-batches-py"
    write_cifar_dir(data)
    report = tmp_path / "report"
    status, out = run_main(["ladder", "--data", "cifar10", "--data-home", str(data),
                            "--n-train", "60", "--n-test", "30", "--models",
                            "knn-l2,softmax", "--report", str(report), "--no-progress"])
    assert status == 0, capsys.readouterr().err
    rows = leaderboard(out)
    assert list(rows) == ["kNN (L2)", "softmax"]
    assert "CIFAR-10: 60 training and 30 test images" in out
    assert f"report written to {report / 'report.md'}" in out

    page = (report / "report.md").read_text()
    assert "| kNN (L2) |" in page and "| softmax |" in page
    figures = re.findall(r"!\[[^]]*\]\(([^)]+)\)", page)
    # random pixels: the best model gets most of the 30 test images wrong
    assert {"confusion_matrix.png", "mistakes.png", "templates_softmax.png"} <= set(figures)
    for name in figures:
        content = (report / name).read_bytes()
        # a blank matplotlib figure is a PNG of about 2 kB: more means it shows something
        assert content.startswith(b"\x89PNG\r\n\x1a\n") and len(content) > 5000


def test_report_has_the_learning_curves_of_the_networks(tmp_path, tiny_settings):
    report = tmp_path / "out"
    status, out = run_main(["ladder", "--models", "mlp,convnet", *SMALL_DIGITS,
                            "--report", str(report)])
    assert status == 0
    page = (report / "report.md").read_text()
    assert "## Learning curves" in page and "![MLP (batchnorm, dropout) history]" in page
    assert "![ConvNet history](history_convnet.png)" in page
    assert "## First-layer filters" in page and "![ConvNet filters](filters_convnet.png)" in page
    for name in ("history_mlp.png", "history_convnet.png", "filters_convnet.png"):
        assert (report / name).read_bytes().startswith(b"\x89PNG")
    # both models are networks: no class templates to show
    assert "## Class templates" not in page


def test_info_prints_show_config():
    result = run_command("info")
    assert result.returncode == 0
    assert result.stdout.startswith("skdeep ")
    assert "kernels:" in result.stdout and "dependencies:" in result.stdout


@pytest.fixture
def archive(tmp_path, monkeypatch):
    """A small CIFAR-10 archive that fetch_cifar10 downloads from a file URL."""
    source = tmp_path / "source" / "cifar-10-batches-py"
    write_cifar_dir(source, n_per_batch=3, n_test=4)
    path = tmp_path / "served" / "cifar-10-python.tar.gz"
    path.parent.mkdir()
    with tarfile.open(path, "w:gz") as tar:
        tar.add(source, arcname="cifar-10-batches-py")
    payload = path.read_bytes()
    record = RemoteFileMetadata(filename="cifar-10-python.tar.gz", url=path.as_uri(),
                                size=len(payload), md5=hashlib.md5(payload).hexdigest())
    monkeypatch.setattr(_cifar10, "CIFAR10_ARCHIVE", record)
    return record


def test_fetch_cifar10_downloads_verifies_and_reports(archive, tmp_path, capsys):
    home = tmp_path / "home"
    status, out = run_main(["fetch-cifar10", "--data-home", str(home)])
    assert status == 0
    assert out == (f"CIFAR-10 in {home}/cifar-10-batches-py: 15 training and 4 test "
                   f"images, classes {', '.join(CLASSES)}\n")
    assert sorted(os.listdir(home)) == ["cifar-10-batches-py"]  # the archive is gone
    assert "Downloading file://" in capsys.readouterr().err


def test_fetch_cifar10_corrupt_download_is_one_line(archive, tmp_path, monkeypatch,
                                                    capsys):
    monkeypatch.setattr(_cifar10, "CIFAR10_ARCHIVE", archive._replace(md5="0" * 32))
    home = tmp_path / "home"
    status, out = run_main(["fetch-cifar10", "--data-home", str(home)])
    assert status == 1 and out == ""
    errors = [line for line in capsys.readouterr().err.splitlines()
              if line.startswith("skdeep fetch-cifar10:")]
    assert len(errors) == 1 and "expected " + "0" * 32 in errors[0]
    assert os.listdir(home) == []


@pytest.mark.parametrize("use_tqdm", [False, True])
def test_progress_names_model_grid_point_fold_and_time_left(use_tqdm, monkeypatch):
    if use_tqdm:
        pytest.importorskip("tqdm")
    else:
        monkeypatch.setattr(_progress, "_tqdm", lambda: None)
    stream = io.StringIO()
    progress = _progress.Progress(3, stream=stream, enabled=True)
    progress.start_model("softmax", n_candidates=2, n_splits=3)
    for _ in range(4):
        progress.advance()
    shown = stream.getvalue()
    assert "[1/3] softmax" in shown
    assert "grid point 1/2, fold 1/3" in shown and "grid point 2/2, fold 2/3" in shown
    # four of seven fits done: the estimate of what is left must appear
    assert ("s left" in shown) if not use_tqdm else re.search(r"4/7 \[.*<", shown)
    for _ in range(2):
        progress.advance()
    assert "refit on all training images" in stream.getvalue()
    progress.end_model()


def test_progress_is_silent_when_not_a_terminal():
    stream = io.StringIO()
    progress = _progress.Progress(1, stream=stream)
    progress.start_model("kNN", 1, 3)
    progress.advance()
    progress.end_model()
    assert stream.getvalue() == ""


def test_error_line_is_the_first_line_of_the_message():
    assert _main._error_line(OSError("no data\nmore")) == "no data"
    assert _main._error_line(ValueError("bad X")) == "ValueError: bad X"
