"""Options shared by every command that reads a spec."""

from __future__ import annotations

from pathlib import Path

import click

from mlops.spec.loader import DEFAULT_SPEC

spec_argument = click.argument(
    "spec_path", metavar="[MLOPS_YAML]", default=DEFAULT_SPEC,
    type=click.Path(path_type=Path, dir_okay=True, exists=False),
)
