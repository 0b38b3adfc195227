"""Helpers of the gallery build, importable by name so that Sphinx can cache its config."""
import os


def reset_argv(gallery_conf, script_vars):
    """Command line of each example: its figure files go to a scratch directory.

    Parameters
    ----------
    gallery_conf : dict
        sphinx-gallery's configuration.
    script_vars : dict
        The example being run; ``src_file`` is its path.

    Returns
    -------
    argv : list of str
        ``["--out", PATH]``, PATH in ``$SKDEEP_GALLERY_OUT`` named after the example.
    """
    name = os.path.splitext(os.path.basename(script_vars["src_file"]))[0]
    return ["--out", os.path.join(os.environ["SKDEEP_GALLERY_OUT"], name)]
