"""`mlops report`: render a saved result again.

Kept apart from `mlops gate` so that re-rendering loads neither a spec nor the gates. A RESULT.json
that is missing or is not a report is a usage error (exit 2), like any other wrong argument.
"""

from __future__ import annotations

from pathlib import Path

import click

from mlops.core.errors import MlopsError, UsageError
from mlops.harness.reports import FORMATS, report_name, write_reports
from mlops.harness.reports.json_report import read_report


@click.command()
@click.argument("result", metavar="RESULT.json", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["md", "html", "junit", "json", "all"]),
              default="all", show_default=True, help="Which report(s) to render.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Output folder (default: the folder of RESULT.json).")
def report(result: Path, fmt: str, out: Path | None) -> None:
    """Render a saved JSON result as Markdown, HTML and/or JUnit XML.

    The files keep the result's name: report-data.json renders report-data.md, junit-data.xml, ...
    """
    try:
        loaded = read_report(result)
    except MlopsError as error:
        raise UsageError(str(error)) from None
    formats = [name for name in FORMATS if name != "json"] if fmt == "all" else [fmt]
    for path in write_reports(loaded, out or result.parent, formats, name=report_name(result)):
        click.echo(f"wrote {path}")
