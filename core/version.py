"""The tool's version: the full one for humans, the released one for what generated files pin."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "mlops-yaml"


def installed_version() -> str:
    """What is installed, e.g. '0.2.0' or '0.2.0+g1a2b3c4' for a build after the 0.2.0 tag."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "0.0.0"


def release_version() -> str:
    """The public part ('0.2.0'): what `mlops-yaml==` pins. A build from a later commit matches
    it too, since pip ignores a candidate's local part when the pin has none."""
    return installed_version().partition("+")[0]
