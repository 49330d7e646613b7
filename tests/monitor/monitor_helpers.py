"""Request logs written in the server's row schema (serving/request_log.py) from the example data."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from mlops.harness.monitor import MonitorConfig
from mlops.spec.loader import LoadedSpec, load_spec

ROOT = Path(__file__).resolve().parents[2]
MLOPS = str(ROOT / ".venv" / "bin" / "mlops")
NOW = float(int(time.time()))
SHIFTED = ("mean_radius", "mean_texture", "mean_smoothness", "mean_symmetry", "worst_radius",
           "worst_texture", "worst_smoothness", "worst_symmetry", "radius_error", "texture_error")
"""10 of 30 features: a third, just above the example's max_drifted_features of 0.3."""


def root_spec() -> LoadedSpec:
    return load_spec(ROOT / "mlops.yaml", check_files=False)


def data_rows(name: str) -> list[dict[str, float]]:
    with (ROOT / "data" / name).open() as handle:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(handle)]


def shifted(rows: Sequence[dict[str, float]], features: Iterable[str] = SHIFTED,
            sds: float = 3.0) -> list[dict[str, float]]:
    """Rows with `features` moved by `sds` reference standard deviations."""
    reference = data_rows("train.csv")
    moved = []
    for row in rows:
        copy = dict(row)
        for feature in features:
            values = [r[feature] for r in reference]
            mean = sum(values) / len(values)
            sd = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5
            copy[feature] = row[feature] + sds * sd
        moved.append(copy)
    return moved


def records(rows: Sequence[dict[str, float]], stamp: float, prefix: str = "r",
            model: str = "breast-cancer") -> list[dict[str, Any]]:
    """One logged request per row: request_id f'{prefix}{i}', row 0."""
    result = []
    for index, row in enumerate(rows):
        record: dict[str, Any] = {"timestamp": stamp, "request_id": f"{prefix}{index}",
                                  "model": model, "row": 0}
        record.update({k: v for k, v in row.items() if k != "label"})
        benign = row.get("label", 1.0) == 1.0
        record["prediction"] = "benign" if benign else "malignant"
        record["score"] = 0.9 if benign else 0.1
        result.append(record)
    return result


def write_jsonl(path: Path, items: Sequence[dict[str, Any]], extra_lines: Sequence[str] = ()) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(item) for item in items] + list(extra_lines)
    path.write_text("".join(line + "\n" for line in lines))
    return path


def config(tmp: Path, **overrides: Any) -> MonitorConfig:
    """The root spec's monitor, reading tmp/logs and writing under tmp/reports."""
    values: dict[str, Any] = {"log_dir": tmp / "logs", "window_s": None, "feedback": None,
                              "report_dir": tmp / "reports", "textfile": None, "push": False}
    values.update(overrides)
    return MonitorConfig.from_spec(root_spec()).with_overrides(**values)
