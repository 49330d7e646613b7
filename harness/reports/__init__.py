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


def report_filename(fmt: str, name: str | None = None) -> str:
    """The file a format is written to: `report.md`, or `report-<name>.md` for a named report
    (one gate run alone), so running gates one by one keeps every gate's report."""
    filename = FORMATS[fmt][0]
    if name is None:
        return filename
    stem, dot, suffix = filename.partition(".")
    return f"{stem}-{name}{dot}{suffix}"


def report_name(path: Path) -> str | None:
    """The name a saved JSON report was written under (`report-data.json` -> 'data'), if any."""
    stem = path.name.removesuffix(".json")
    return stem.removeprefix("report-") if stem.startswith("report-") else None


def write_reports(report: Report, folder: Path, formats: Iterable[str] = tuple(FORMATS),
                  name: str | None = None) -> list[Path]:
    """Write each requested format into `folder` (see `report_filename`); returns the files."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        render = FORMATS[fmt][1]
        path = folder / report_filename(fmt, name)
        path.write_text(render(report), encoding="utf-8")
        written.append(path)
    return written


__all__ = ["FORMATS", "from_json", "report_filename", "report_name", "to_html", "to_json",
           "to_junit", "to_markdown", "write_reports"]
