"""The ``skdeep`` command (``python -m skdeep``, the ``skdeep`` and ``skdeep-digits`` scripts).

Four modules, each using only the others' public names:

- ``_main``: the command line, its subcommands and their one-line errors;
- ``_ladder``: the data sets, the ladder's rungs and their settings, the runs
  and the leaderboard;
- ``_report``: the Markdown page and figures of ``skdeep ladder --report``;
- ``_progress``: the progress line of the ladder on the terminal.
"""
from ._main import digits_main, main

__all__ = ["digits_main", "main"]
