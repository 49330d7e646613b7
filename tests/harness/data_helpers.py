"""Copies of the example project for fault injection, and small CSV editing helpers.

The example's data comes from the repository's data/ folder; without it (a fresh checkout before
`prepare_data.py` ran) the same columns are generated from scikit-learn's bundled data set.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPLITS = ("train", "test", "current")

Rows = list[dict[str, str]]


def example_project(folder: Path) -> Path:
    """mlops.yaml and data/{train,test,current}.csv of the example, copied into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "mlops.yaml", folder / "mlops.yaml")
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


def edit_spec(spec: Path, old: str, new: str) -> None:
    text = spec.read_text()
    assert old in text, f"{old!r} not in {spec}"
    spec.write_text(text.replace(old, new, 1))
