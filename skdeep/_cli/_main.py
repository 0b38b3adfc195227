"""The ``skdeep`` command: the CS231n ladder, build information, the CIFAR-10 download.

``skdeep`` (or ``python -m skdeep``) with no subcommand runs ``skdeep ladder``
on scikit-learn's embedded digits.  ``skdeep-digits`` is an alias of
``skdeep ladder``, kept for those who learnt the old name.  Errors a user can
fix (missing data, a bad option) print one line on stderr and exit non-zero,
never a traceback.
"""
import argparse
import sys

from . import _ladder as ladder
from ._progress import Progress
from ._report import check_matplotlib, write_report

_SUBCOMMANDS = ("ladder", "info", "fetch-cifar10")
_DEFAULT_N = {"digits": (None, None), "cifar10": (5000, 1000)}


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: the problem and where to read more."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _model_list(text):
    keys = [key.strip() for key in text.split(",") if key.strip()]
    if not keys:
        raise argparse.ArgumentTypeError("expected model names separated by commas")
    unknown = [key for key in keys if key not in ladder.RUNG_KEYS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown model {unknown[0]!r}; choose from "
                                         f"{', '.join(ladder.RUNG_KEYS)}")
    return keys


def _add_ladder_command(commands):
    """The ``ladder`` subcommand and its data and run options."""
    command = commands.add_parser(
        "ladder", help="tune and compare every model, from kNN to the convnet",
        description="The CS231n ladder: kNN (L2, L1), linear SVM, softmax, HOG(+HSV) "
                    "features into a linear SVM and an MLP, an MLP with batchnorm and "
                    "dropout, and a ConvNet, each a pipeline tuned by cross-validated "
                    "grid search on the training images, refit on all of them and "
                    "scored on held-out test images. Prints a leaderboard of "
                    "cross-validated and test accuracy and fit time.")
    data = command.add_argument_group("data")
    data.add_argument("--data", choices=list(_DEFAULT_N), default="digits",
                      help="scikit-learn's 8x8 digits (default, embedded) or CIFAR-10")
    data.add_argument("--data-home", metavar="DIR",
                      help="where CIFAR-10 is kept: the cifar-10-batches-py directory or "
                           "its parent (default: $SKDEEP_DATA, else ~/skdeep_data)")
    data.add_argument("--download", action="store_true",
                      help="download CIFAR-10 (170 MB) if it is not in the data home")
    data.add_argument("--n-train", type=_positive_int, metavar="N",
                      help="training images to use, the first N (default: all 1,347 "
                           "digits of the 75%% split; 5,000 of CIFAR-10)")
    data.add_argument("--n-test", type=_positive_int, metavar="N",
                      help="test images to score on, the first N (default: all 450 "
                           "digits of the 25%% split; 1,000 of CIFAR-10)")
    run = command.add_argument_group("run")
    run.add_argument("--preset", choices=ladder.PRESETS, default="fast",
                     help="fast: 3-fold search over small grids (default); thorough: "
                          "5-fold over larger grids, networks trained longer")
    run.add_argument("--models", type=_model_list, metavar="LIST",
                     help=f"comma-separated subset of {', '.join(ladder.RUNG_KEYS)} "
                          f"(default: all)")
    run.add_argument("--n-jobs", type=int, default=None, metavar="N",
                     help="parallel grid-search workers (default: 1; -1 for all CPUs; "
                          "the progress line is not updated from workers)")
    run.add_argument("--seed", type=int, default=0,
                     help="seed of the split, the folds and the models (default: 0)")
    run.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="show which model, grid point and fold is running and the time "
                          "left (default: when stderr is a terminal); uses tqdm if installed")
    run.add_argument("--report", metavar="DIR",
                     help="write DIR/report.md with PNG figures: leaderboard, confusion "
                          "matrix and mistakes of the best model, learning curves, class "
                          "templates, convnet filters (needs matplotlib)")
    command.set_defaults(handler=_run_ladder)


def build_parser():
    """The command line of ``skdeep`` and its subcommands."""
    from .. import __version__

    parser = _Parser(
        prog="skdeep",
        description="The CS231n image-classification stack as scikit-learn estimators. "
                    "Without a subcommand, runs `skdeep ladder` on the digits.")
    parser.add_argument("--version", action="version", version=f"skdeep {__version__}")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser,
                                     metavar="{" + ",".join(_SUBCOMMANDS) + "}")

    _add_ladder_command(commands)

    info = commands.add_parser(
        "info", help="versions and which kernels are compiled",
        description="Print what skdeep.show_config() prints: versions of skdeep and its "
                    "dependencies and, for each kernel, whether the compiled module or "
                    "its pure-Python fallback is loaded.")
    info.set_defaults(handler=_info)

    fetch = commands.add_parser(
        "fetch-cifar10", help="download and verify CIFAR-10 into the data home",
        description="Download the official CIFAR-10 python archive (170 MB) once, check "
                    "its size and MD5, extract it into the data home and load it. Does "
                    "nothing but load when the data are already there.")
    fetch.add_argument("--data-home", metavar="DIR",
                       help="where to keep the data (default: $SKDEEP_DATA, else "
                            "~/skdeep_data)")
    fetch.set_defaults(handler=_fetch)
    return parser


def _info(args, out):
    from .._config import show_config

    show_config(file=out)
    return 0


def _fetch(args, out):
    from ..datasets import fetch_cifar10, get_data_home

    data = fetch_cifar10(args.data_home)
    print(f"CIFAR-10 in {get_data_home(args.data_home)}/cifar-10-batches-py: "
          f"{len(data.X_train)} training and {len(data.X_test)} test images, classes "
          f"{', '.join(data.target_names)}", file=out)
    return 0


def _kernel_summary():
    from .. import __version__
    from .._kernels import kernel_status

    status = kernel_status()
    compiled = sum(info["compiled"] for info in status.values())
    return (f"skdeep {__version__}: {compiled} of {len(status)} kernels compiled "
            f"(`skdeep info` tells more)")


def _load_dataset(args):
    default_train, default_test = _DEFAULT_N[args.data]
    n_train = args.n_train or default_train
    n_test = args.n_test or default_test
    if args.data == "digits":
        return ladder.load_digits_dataset(n_train, n_test, random_state=args.seed)
    return ladder.load_cifar10_dataset(args.data_home, n_train, n_test,
                                       download=args.download)


def _run_ladder(args, out):
    from sklearn.model_selection import StratifiedKFold

    if args.report is not None:
        check_matplotlib()
    dataset = _load_dataset(args)
    rungs = ladder.select_rungs(ladder.build_ladder(dataset, args.preset, args.seed),
                                args.models)
    n_folds = ladder.settings(dataset, args.preset)["cv"]
    ladder.check_folds(dataset, n_folds)
    cv = StratifiedKFold(n_folds, shuffle=True, random_state=args.seed)

    print(_kernel_summary(), file=out)
    print(f"{dataset.name}: {len(dataset.X_train)} training and {len(dataset.X_test)} "
          f"test images; preset {args.preset}: {n_folds}-fold grid search on the "
          f"training images, then a refit on all of them", file=out)
    print(file=out)
    print(ladder.format_row(ladder.LEADERBOARD_COLUMNS), file=out)
    print(ladder.format_row(None), file=out)
    out.flush()
    progress = Progress(len(rungs), enabled=args.progress)
    results = []
    for rung in rungs:
        results.append(ladder.run_rung(rung, dataset, cv, progress, n_jobs=args.n_jobs))
        print(ladder.format_row(ladder.leaderboard_row(results[-1])), file=out)
        out.flush()
    best = ladder.best_result(results)
    print(f"\nbest by cross-validation: {best['name']}, test accuracy "
          f"{best['test_accuracy']:.3f}", file=out)
    if args.report is not None:
        options = f"Preset {args.preset}, {n_folds}-fold cross-validation, seed {args.seed}."
        page = write_report(args.report, dataset, results, options)
        print(f"report written to {page}", file=out)
    return 0


def _error_line(exc):
    """The first line of an exception's message, for a one-line error."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, (ladder.LadderError, OSError, ImportError)):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def main(argv=None, out=None):
    """Run the ``skdeep`` command.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after the program name; ``sys.argv[1:]`` when None.  No
        subcommand, or options only, means ``ladder``.
    out : file-like, default=None
        Where results are printed; ``sys.stdout`` when None.  Errors go to
        ``sys.stderr``.

    Returns
    -------
    status : int
        The exit status: 0 on success, 1 after an error, 2 for bad options,
        130 when interrupted.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    out = sys.stdout if out is None else out
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "ladder")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad option already reported
        return exc.code if isinstance(exc.code, int) else 0
    if args.command is None:
        parser.print_help(out)
        return 0
    try:
        return args.handler(args, out)
    except KeyboardInterrupt:
        print(f"\nskdeep {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line for the user, never a traceback
        print(f"skdeep {args.command}: error: {_error_line(exc)}", file=sys.stderr)
        return 1


def digits_main(argv=None):
    """``skdeep-digits``: the old name of ``skdeep ladder``, with the same options.

    Parameters
    ----------
    argv : list of str, default=None
        Options of ``skdeep ladder``; ``sys.argv[1:]`` when None.

    Returns
    -------
    status : int
        The exit status, as :func:`main` returns it.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    return main(["ladder"] + argv)


if __name__ == "__main__":
    sys.exit(main())
