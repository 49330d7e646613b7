"""Breast-cancer projects for fault injection (the suite's spec, the example's data), and small CSV
editing helpers.

The spec is `tests.specs.breast_cancer()` with the test's changes, written as YAML; the data comes
from the repository's data/ folder; without it (a fresh checkout before `prepare_data.py` ran)
the same columns are generated from scikit-learn's bundled data set.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tests.specs import breast_cancer, changed, write_spec

ROOT = Path(__file__).resolve().parents[2]
SPLITS = ("train", "test", "current")

Rows = list[dict[str, str]]


def example_project(folder: Path, changes: Mapping[str, Any] | None = None) -> Path:
    """mlops.yaml (the suite's breast-cancer spec with `changes` by key path, see `tests.specs`)
    and the example's data/{train,test,current}.csv in `folder`; returns the spec path."""
    folder.mkdir(parents=True, exist_ok=True)
    write_spec(folder / "mlops.yaml", changed(breast_cancer(), changes or {}))
    requirements = Path("examples/breast_cancer/requirements.txt")  # install.requirements
    if (ROOT / requirements).is_file():
        (folder / requirements).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / requirements, folder / requirements)
    data = folder / "data"
    data.mkdir(exist_ok=True)
    if all((ROOT / "data" / f"{split}.csv").is_file() for split in SPLITS):
        for split in SPLITS:
            shutil.copy(ROOT / "data" / f"{split}.csv", data / f"{split}.csv")
    else:
        subprocess.run([sys.executable, str(ROOT / "examples/breast_cancer/prepare_data.py"),
                        "--out-dir", str(data)], check=True, capture_output=True)
    return folder / "mlops.yaml"


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

