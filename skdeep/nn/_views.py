"""Test-time views: class scores averaged over an image's mirror and shifted copies.

The views of the airbench CIFAR-10 speed records' test-time augmentation
(levels 1 and 2), applied to every image of a batch alike, so that an image's
scores never depend on the other images passed with it.
"""
import numpy as np

from ._checks import check_choice

TEST_TIME_VIEWS = ("flip", "flip+shift")


def _mirror_average(score, x):
    """Mean of the scores of images ``x`` and of their left-right mirrors."""
    scores = score(x)
    scores += score(x[..., ::-1])
    scores *= 0.5
    return scores


def _reflect_shift(x, step):
    """Images ``x`` (N, C, H, W) moved ``step`` pixels (1 or -1) down and right.

    The row and column brought in are reflected across the border: the crop
    at offset ``(1 - step, 1 - step)`` of ``np.pad(x, 1, mode='reflect')`` on
    the last two axes.
    """
    height, width = x.shape[2:]
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="reflect")
    return padded[:, :, 1 - step:1 - step + height, 1 - step:1 - step + width]


def view_average(score, x, views):
    """Class scores of images ``x`` averaged over the test-time ``views``.

    Parameters
    ----------
    score : callable
        Maps images (N, C, H, W) to a new array of scores (N, K).
    x : ndarray of shape (N, C, H, W)
        The images.
    views : {None, 'flip', 'flip+shift'}
        None: ``score(x)``.  ``'flip'``: the mean of the scores of each image
        and of its mirror image.  ``'flip+shift'``: half that mean, plus half
        the mean of the same pair for the image moved one pixel down and right
        and for it moved one pixel up and left (see `_reflect_shift`): weights
        1/4 for the image and its mirror, 1/8 for each of the four shifted
        views.

    Returns
    -------
    scores : ndarray of shape (N, K)
    """
    check_choice(views, "test_time_views", (None, *TEST_TIME_VIEWS))
    if views is None:
        return score(x)
    scores = _mirror_average(score, x)
    if views == "flip":
        return scores
    shifted = _mirror_average(score, _reflect_shift(x, 1))
    shifted += _mirror_average(score, _reflect_shift(x, -1))
    # the records' weights: the unshifted pair counts as much as the shifted ones
    scores *= 0.5
    scores += 0.25 * shifted
    return scores
