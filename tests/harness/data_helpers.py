"""Small CSV helpers for fault injection in the data of a project (`tests.projects`)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

Rows = list[dict[str, str]]


def read_rows(path: Path) -> tuple[list[str], Rows]:
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def write_rows(path: Path, header: list[str], rows: Rows) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def edit_csv(path: Path, change: Callable[[list[str], Rows], tuple[list[str], Rows]]) -> None:
    header, rows = read_rows(path)
    write_rows(path, *change(header, rows))

