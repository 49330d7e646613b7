"""One error root for the whole tool: user mistakes are `MlopsError`s, everything else is a bug.

The CLI maps `MlopsError` to a located message and exit 1 (exit 2 for `UsageError`); any other
exception is a defect and keeps its traceback.
"""

from __future__ import annotations


class MlopsError(Exception):
    """A problem the user can fix (bad spec, bad data, failed tool); never a bug in mlops."""

    exit_code = 1


class UsageError(MlopsError):
    """A command was called wrongly (bad flag combination, missing argument)."""

    exit_code = 2
