"""Options shared by every command that reads a spec."""

from __future__ import annotations

from pathlib import Path

import click

from mlops.spec.loader import DEFAULT_SPEC

spec_argument = click.argument(
    "spec_path", metavar="[MLOPS_YAML]", default=DEFAULT_SPEC,
    type=click.Path(path_type=Path, dir_okay=True, exists=False),
)

engine_option = click.option(
    "--engine", type=click.Choice(["local", "ray"]), default=None,
    help="Where the data's parts are tallied: local (this machine's cores) or ray (one Ray task "
         "per part); default: the spec's data.engine.")
address_option = click.option(
    "--address", default=None, metavar="ADDRESS",
    help="Ray cluster with --engine ray, e.g. ray://head:10001 (default: data.ray_address, "
         "RAY_ADDRESS, else a cluster on this machine).")
