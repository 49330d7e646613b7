"""The monitor on a table with strings and nulls (the churn example): served rows are logged raw,
their drift scores equal the data gate's on the same rows, and the prediction shift's baseline
comes from feeding the reference's raw values through the model contract."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from mlops.harness.data.gate import GATE as DATA_GATE
from mlops.harness.gate import GateOptions
from mlops.harness.monitor import EXIT_OK, MonitorConfig, run_monitor
from mlops.spec.loader import LoadedSpec, load_spec
from tests.monitor.monitor_helpers import NOW, write_jsonl

CHURN = Path(__file__).resolve().parents[2] / "examples" / "churn"


def churn() -> LoadedSpec:
    return load_spec(CHURN / "mlops.yaml", check_files=False)


def logged(loaded: LoadedSpec, split: str) -> list[dict[str, Any]]:
    """The split's rows as the server logs them: text as text, empty cells as null."""
    columns = loaded.spec.data.columns
    records = []
    with (CHURN / "data" / f"{split}.csv").open(newline="") as handle:
        for index, row in enumerate(csv.DictReader(handle)):
            record: dict[str, Any] = {"timestamp": NOW - 60, "request_id": f"r{index}",
                                      "model": loaded.spec.name, "row": 0}
            for name in loaded.spec.data.features:
                text = row[name]
                dtype = columns[name].dtype
                record[name] = (None if text == "" else text if dtype in ("str", "category")
                                else int(text) if dtype == "int" else float(text))
            record["prediction"] = row[loaded.spec.data.target]
            record["score"] = 0.9 if row[loaded.spec.data.target] == "yes" else 0.1
            records.append(record)
    return records


def test_string_and_null_traffic_is_judged_like_the_data_gate(tmp_path: Path) -> None:
    loaded = churn()
    rows = logged(loaded, "current")
    assert any(r["contract"] is None for r in rows) and any(
        r["avg_session_minutes"] is None for r in rows)
    write_jsonl(tmp_path / "logs" / "r.jsonl", rows)
    config = MonitorConfig.from_spec(loaded).with_overrides(
        log_dir=tmp_path / "logs", window_s=None, feedback=None, report_dir=tmp_path / "reports",
        textfile=None, push=False)
    result = run_monitor(loaded, config, NOW)
    monitored = {c.name: c for c in result.report.gates[0].checks}
    assert (monitored["window"].status, monitored["window"].observed) == ("pass", len(rows))
    gated = {c.name: c for c in DATA_GATE.run(loaded, GateOptions()).checks}
    for feature in loaded.spec.data.features:
        assert monitored[f"drift.{feature}"].observed == gated[f"drift.{feature}"].observed, feature
    assert monitored["prediction.labels"].status == "pass"  # the logged labels are the truth here
    assert result.exit_code == EXIT_OK, [c.message for c in monitored.values()
                                         if c.status in ("fail", "error")]
