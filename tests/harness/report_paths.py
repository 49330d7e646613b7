"""Finds paths of the machine that made a report in the report's files: every format (Markdown,
JSON, JUnit, HTML) must name files relative to the repository."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPORT_SUFFIXES = (".md", ".json", ".xml", ".html")


def machine_paths(*places: Path) -> list[str]:
    """Absolute prefixes that would give the machine away: the given places (as written and
    resolved), the temp folder, the home folder, this interpreter's prefix and this checkout."""
    found = {str(Path(tempfile.gettempdir())) + "/", str(Path.home()) + "/", sys.prefix,
             str(Path(__file__).resolve().parents[2])}
    for place in places:
        found |= {str(place), str(place.resolve())}
    return sorted(found)


def absolute_paths(folder: Path, *places: Path) -> list[str]:
    """'file:line: text' for every line of a report in `folder` naming a machine path."""
    prefixes = machine_paths(*places)
    hits = []
    reports = [p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix in REPORT_SUFFIXES]
    assert {p.suffix for p in reports} == set(REPORT_SUFFIXES), f"missing formats in {reports}"
    for report in reports:
        for number, line in enumerate(report.read_text(encoding="utf-8").splitlines(), start=1):
            if any(prefix in line for prefix in prefixes):
                hits.append(f"{report.name}:{number}: {line.strip()[:300]}")
    return hits
