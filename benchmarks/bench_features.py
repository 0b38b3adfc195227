"""HOGTransformer beside a loop of scikit-image's hog on 10,000 CIFAR-10 images.

    python benchmarks/bench_features.py [CIFAR_DIR] [--n-images 10000] [--repeat 3]

HOG with 9 orientations, 8x8-pixel cells, 2x2-cell blocks and L2-Hys
normalization (324 features per 32x32 image), on the first --n-images training
images, two ways:

* colour: the uint8 RGB images as loaded, ``channel_axis=-1`` for scikit-image
  (each pixel takes the gradient of its strongest channel);
* grey: the seeds' way, ``skimage.color.rgb2gray`` first (float64 images).

For each it prints both times from the same run (best of --repeat), the ratio,
and the largest difference between the two outputs, which must be under 1e-6.
skdeep runs on every core OpenMP is given (OMP_NUM_THREADS); scikit-image on one.

Goal: colour at least 30 times faster than scikit-image.
"""
import argparse
import os
import sys

import numpy as np

from skdeep import HOGTransformer, show_config
from skdeep.datasets import find_cifar10, load_cifar10

from _timing import best_time  # benchmarks/, the script's own directory

GOAL = 30.0
PARAMS = dict(orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2),
              block_norm="L2-Hys")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cifar_dir", nargs="?", default=None,
                        help="cifar-10-batches-py directory (default: find it in $SKDEEP_DATA)")
    parser.add_argument("--n-images", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs, best kept")
    args = parser.parse_args(argv)
    try:
        from skimage.color import rgb2gray
        from skimage.feature import hog
    except ImportError:
        sys.exit("this benchmark compares with scikit-image: pip install scikit-image")
    path = find_cifar10(args.cifar_dir)
    if path is None:
        sys.exit("CIFAR-10 not found: pass its directory or set SKDEEP_DATA "
                 "(python ../shared/data/make_cifar10.py DIR writes it)")
    show_config()
    images = load_cifar10(path)[0][:args.n_images]
    n = len(images)
    print(f"\nHOG {PARAMS} of {n} CIFAR-10 images; best of {args.repeat}; "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
          f"{os.cpu_count()} CPUs\n")
    print(f"{'images':<8}{'skdeep s':>10}{'skimage s':>11}{'ms/img':>8}{'ratio':>8}"
          f"{'max |diff|':>12}")
    ratios = {}
    for name, batch, channel_axis in [("colour", images, -1),
                                      ("grey", rgb2gray(images)[..., None], None)]:
        X = batch.reshape(n, -1)
        transformer = HOGTransformer(**PARAMS).fit(X[:1])
        ours, features = best_time(lambda: transformer.transform(X), args.repeat)

        def skimage_loop():
            return np.array([hog(image if channel_axis else image[..., 0],
                                 channel_axis=channel_axis, **PARAMS)
                             for image in batch])

        theirs, expected = best_time(skimage_loop, args.repeat)
        diff = np.abs(features - expected).max()
        if diff > 1e-6:
            sys.exit(f"{name}: outputs differ by {diff:.3g}, more than 1e-6")
        ratios[name] = theirs / ours
        print(f"{name:<8}{ours:>10.3f}{theirs:>11.3f}{1e3 * theirs / n:>8.3f}"
              f"{ratios[name]:>7.1f}x{diff:>12.2g}")
    verdict = "met" if ratios["colour"] >= GOAL else "NOT met"
    print(f"\ngoal: colour at least {GOAL:.0f}x faster than scikit-image: {verdict}")


if __name__ == "__main__":
    main()
