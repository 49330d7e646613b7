"""`mlops report`: render a saved result again.

Kept apart from `mlops gate` so that re-rendering loads neither a spec nor the gates.
"""

from __future__ import annotations

from pathlib import Path

import click

from mlops.harness.reports import FORMATS, write_reports
from mlops.harness.reports.json_report import read_report


@click.command()
@click.argument("result", metavar="RESULT.json", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["md", "html", "junit", "json", "all"]),
              default="all", show_default=True, help="Which report(s) to render.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Output folder (default: the folder of RESULT.json).")
def report(result: Path, fmt: str, out: Path | None) -> None:
    """Render a saved JSON result as Markdown, HTML and/or JUnit XML."""
    loaded = read_report(result)
    formats = [name for name in FORMATS if name != "json"] if fmt == "all" else [fmt]
    for path in write_reports(loaded, out or result.parent, formats):
        click.echo(f"wrote {path}")
