"""The ladder's report: a Markdown page and its PNG figures, in one directory.

``skdeep ladder --report DIR`` writes ``DIR/report.md`` and beside it the
figures the page shows: the confusion matrix and the mistakes of the best
model, the learning curves of the networks, the class templates of the linear
classifiers and the first-layer filters of the convnet.  The directory is
self-contained: move it anywhere and the page still shows its figures.
"""
import os

import numpy as np

from ._ladder import LEADERBOARD_COLUMNS, best_result, leaderboard_row


def check_matplotlib():
    """Import matplotlib with a backend that writes files, or raise ImportError saying how."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("--report needs matplotlib: pip install "
                          "\"skdeep[plot]\" (or pip install matplotlib)") from None
    # files only: never open a window, whatever the user's default backend is
    matplotlib.use("Agg")


def _final_step(estimator):
    return estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator


def _save(fig, directory, filename):
    import matplotlib.pyplot as plt

    fig.savefig(os.path.join(directory, filename), dpi=100, bbox_inches="tight")
    plt.close(fig)
    return filename


def _displayable_images(dataset, rows):
    # CIFAR rows hold whole numbers 0-255: show them as the pixels they are
    if dataset.image_shape[2] == 3:
        return np.clip(rows, 0, 255).astype(np.uint8)
    return rows


def _confusion(dataset, result, directory):
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    ConfusionMatrixDisplay.from_predictions(
        dataset.y_test, result["y_pred"], labels=np.arange(len(dataset.class_names)),
        display_labels=list(dataset.class_names), ax=ax, colorbar=False)
    ax.set_title(f"{result['name']}: test accuracy {result['test_accuracy']:.3f}")
    plt.setp(ax.get_xticklabels(), rotation=45, ha="right")
    return _save(fig, directory, "confusion_matrix.png")


def _mistakes(dataset, result, directory):
    from ..plotting import plot_image_gallery

    wrong = np.flatnonzero(result["y_pred"] != dataset.y_test)
    if len(wrong) == 0:
        return None
    fig = plot_image_gallery(_displayable_images(dataset, dataset.X_test[wrong]),
                             result["y_pred"][wrong], image_shape=dataset.image_shape,
                             group_names=list(dataset.class_names), n_per_group=10)
    fig.suptitle(f"{result['name']}: misclassified test images, one row per "
                 f"predicted class", y=1.02)
    return _save(fig, directory, "mistakes.png")


def _history(result, directory):
    from ..plotting import plot_history

    network = _final_step(result["estimator"])
    if not getattr(network, "loss_history_", None):
        return None
    axes = plot_history(network, title=f"{result['name']} (refit on all training images)")
    return _save(axes[0].figure, directory, f"history_{result['key']}.png")


def _templates(dataset, result, directory):
    from ..plotting import plot_class_templates

    fig = plot_class_templates(result["estimator"], image_shape=dataset.image_shape,
                               class_names=list(dataset.class_names))
    return _save(fig, directory, f"templates_{result['key']}.png")


def _filters(result, directory):
    from ..plotting import plot_conv_filters

    ax = plot_conv_filters(_final_step(result["estimator"]))
    return _save(ax.figure, directory, f"filters_{result['key']}.png")


def _markdown_table(results):
    rows = [LEADERBOARD_COLUMNS] + [leaderboard_row(result) for result in results]
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("---" if i < 2 else "---:"
                                   for i in range(len(LEADERBOARD_COLUMNS))) + "|")
    return "\n".join(lines)


def _summary(dataset, results, settings):
    """The page's title, what was run and the leaderboard."""
    return [
        "# skdeep ladder report",
        "",
        f"{dataset.name}: {len(dataset.X_train)} training and {len(dataset.X_test)} test "
        f"images of {'x'.join(map(str, dataset.image_shape[:2]))} pixels, "
        f"{len(dataset.class_names)} classes. {settings}",
        "",
        "Each model is tuned by cross-validated grid search on the training images, "
        "refit on all of them with the best parameters and scored once on the test "
        "images. *fit* is the refit's time, *total* includes the search.",
        "",
        "## Leaderboard",
        "",
        _markdown_table(results),
        "",
    ]


def _best_model(dataset, best, directory):
    """The best model's section: its confusion matrix and its mistakes."""
    lines = [
        f"## Best model: {best['name']}",
        "",
        f"Chosen by cross-validated accuracy ({best['cv_mean']:.3f}); its test accuracy "
        f"is {best['test_accuracy']:.3f}.",
        "",
        f"![confusion matrix]({_confusion(dataset, best, directory)})",
        "",
    ]
    mistakes = _mistakes(dataset, best, directory)
    if mistakes:
        lines += ["Misclassified test images, one row per predicted class (its "
                  "number of mistakes in brackets):", "", f"![mistakes]({mistakes})", ""]
    return lines


def _figures(title, intro, figures):
    """A section of one figure per model, ``figures`` being (model name, what, file)."""
    if not figures:
        return []
    lines = [f"## {title}", ""] + ([intro, ""] if intro else [])
    for name, what, filename in figures:
        lines += [f"### {name}", "", f"![{name} {what}]({filename})", ""]
    return lines


def write_report(directory, dataset, results, settings):
    """Write ``report.md`` and its figures into ``directory``; return the page's path.

    ``settings`` is a short text (the command's options) printed under the title.
    """
    os.makedirs(directory, exist_ok=True)
    histories = [(r["name"], "history", _history(r, directory)) for r in results
                 if r["kind"] in ("network", "convnet")]
    templates = [(r["name"], "templates", _templates(dataset, r, directory))
                 for r in results if r["kind"] == "linear"]
    filters = [(r["name"], "filters", _filters(r, directory))
               for r in results if r["kind"] == "convnet"]
    sections = (
        _summary(dataset, results, settings)
        + _best_model(dataset, best_result(results), directory)
        + _figures("Learning curves",
                   "Training loss per iteration and accuracies per epoch of the refit "
                   "networks (validation: the share they hold out to choose their best "
                   "epoch).", [figure for figure in histories if figure[2]])
        + _figures("Class templates",
                   "The weights of each class of the linear classifiers, seen as images "
                   "(weights on standardized pixels).", templates)
        + _figures("First-layer filters", None, filters))
    page = os.path.join(directory, "report.md")
    with open(page, "w", encoding="utf-8") as f:
        f.write("\n".join(sections))
    return page
