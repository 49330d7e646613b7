"""Views of a `Report`: the Markdown PR comment, JSON, JUnit XML and a self-contained HTML page.

Every view is a pure function of the report, so `mlops report RESULT.json` renders exactly what
the original run would have.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from ..result import Report
from .html import to_html
from .json_report import from_json, to_json
from .junit import to_junit
from .markdown import to_markdown

FORMATS: dict[str, tuple[str, Callable[[Report], str]]] = {
    "json": ("report.json", to_json),
    "md": ("report.md", to_markdown),
    "junit": ("junit.xml", to_junit),
    "html": ("report.html", to_html),
}


def write_reports(report: Report, folder: Path, formats: Iterable[str] = tuple(FORMATS)) -> list[Path]:
    """Write each requested format into `folder`; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in formats:
        filename, render = FORMATS[name]
        path = folder / filename
        path.write_text(render(report), encoding="utf-8")
        written.append(path)
    return written


__all__ = ["FORMATS", "from_json", "to_html", "to_json", "to_junit", "to_markdown",
           "write_reports"]
