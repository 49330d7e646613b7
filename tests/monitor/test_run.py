"""Whole monitor runs on the example spec: drift alert, same scores as the data gate, empty and
missing windows, feedback joins, and the exit code each one gives."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mlops.core import telemetry
from mlops.harness.data.gate import GATE as DATA_GATE
from mlops.harness.gate import GateOptions
from mlops.harness.monitor import EXIT_ALERT, EXIT_FAILED, EXIT_OK, run_monitor
from mlops.harness.result import CheckResult
from tests.monitor.monitor_helpers import (
    NOW,
    SHIFTED,
    config,
    data_rows,
    records,
    root_spec,
    shifted,
    write_jsonl,
)
from tests.tooling import require_tool


def _checks(result) -> dict[str, CheckResult]:  # type: ignore[no-untyped-def]
    return {c.name: c for c in result.report.gates[0].checks}


def test_shifted_features_raise_a_drift_alert_naming_them(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "logs" / "r.jsonl", records(shifted(data_rows("current.csv")), NOW - 60))
    result = run_monitor(root_spec(), config(tmp_path), NOW)
    checks = _checks(result)
    assert result.exit_code == EXIT_ALERT
    assert checks["drift.dataset"].status == "fail"
    assert checks["drift.dataset"].details["drifted"] == [
        f for f in root_spec().spec.data.features if f in SHIFTED]
    assert checks["drift.dataset"].message.endswith("; drifted: " + ", ".join(
        f for f in root_spec().spec.data.features if f in SHIFTED))
    assert {n for n, c in checks.items() if n.startswith("drift.") and c.status == "warn"} == {
        f"drift.{f}" for f in SHIFTED}
    assert f'{telemetry.DRIFTED_FRACTION.name}{{model="breast-cancer"}} 0.3333333333333333' in (
        result.metrics)


def test_reference_traffic_raises_no_alert(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "logs" / "r.jsonl", records(data_rows("train.csv")[:150], NOW - 60))
    result = run_monitor(root_spec(), config(tmp_path), NOW)
    checks = _checks(result)
    assert result.exit_code == EXIT_OK, [c.message for c in checks.values() if c.status != "pass"]
    assert checks["drift.dataset"].observed == 0
    assert "prediction.score" in checks  # the e2e test checks the real scores against the model's


def test_drift_scores_equal_the_data_gates_on_the_same_rows(tmp_path: Path) -> None:
    loaded = root_spec()
    write_jsonl(tmp_path / "logs" / "r.jsonl", records(data_rows("current.csv"), NOW - 60))
    monitored = _checks(run_monitor(loaded, config(tmp_path), NOW))
    gated = {c.name: c for c in DATA_GATE.run(loaded, GateOptions()).checks}
    for feature in loaded.spec.data.features:
        assert monitored[f"drift.{feature}"].observed == gated[f"drift.{feature}"].observed, feature


def test_an_empty_window_is_a_warning_and_still_reports_the_run(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "logs" / "r.jsonl", records(data_rows("current.csv")[:4], NOW - 7200))
    result = run_monitor(root_spec(), config(tmp_path), NOW)
    window = _checks(result)["window"]
    assert (result.exit_code, window.status) == (EXIT_OK, "warn")
    assert window.message == (
        f"no requests logged between {_utc(NOW - 3600)} and {_utc(NOW)} in {tmp_path / 'logs'} "
        "(4 logged rows fall outside it): nothing to compare; an empty window is not an alert")
    assert telemetry.MONITOR_LAST_RUN.name in result.metrics
    assert telemetry.DRIFT_SCORE.name not in result.metrics


def test_a_missing_log_folder_fails_the_run_and_reports_no_last_run(tmp_path: Path) -> None:
    result = run_monitor(root_spec(), config(tmp_path), NOW)
    window = _checks(result)["window"]
    assert (result.exit_code, window.status) == (EXIT_FAILED, "error")
    assert window.message == (f"request log folder {tmp_path / 'logs'} not found: is "
                              "serving.request_log.path mounted here? (or pass --log-dir)")
    assert telemetry.MONITOR_LAST_RUN.name not in result.metrics


def test_few_rows_are_not_judged_for_drift(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "logs" / "r.jsonl", records(shifted(data_rows("current.csv")[:12]),
                                                       NOW - 60))
    result = run_monitor(root_spec(), config(tmp_path), NOW)
    assert result.exit_code == EXIT_OK
    assert _checks(result)["drift.dataset"].message == (
        "drift not judged: 12 rows in the window, at least 50 are needed")


def test_feedback_joins_known_ids_reports_unknown_ones_and_alerts_on_accuracy(
        tmp_path: Path) -> None:
    rows = data_rows("current.csv")[:60]
    write_jsonl(tmp_path / "logs" / "r.jsonl", records(rows, NOW - 60))
    feedback = tmp_path / "feedback.csv"
    truth = ["benign" if r["label"] == 1 else "malignant" for r in rows]
    flipped = [("malignant" if t == "benign" else "benign") if i % 4 == 0 else t
               for i, t in enumerate(truth)]
    lines = ["request_id,row,label",
             *(f"r{i},0,{label}" for i, label in enumerate(flipped[:58])),
             "nope,0,benign", "r1,3,benign", "r2,x,benign", "r58,0,tumour"]
    feedback.write_text("\n".join(lines) + "\n")
    result = run_monitor(root_spec(), config(tmp_path, feedback=feedback), NOW)
    checks = _checks(result)
    assert result.exit_code == EXIT_ALERT
    assert checks["feedback"].message == (
        f"{feedback}: 58 of 62 feedback rows joined to logged predictions; 2 name no logged "
        f"request in the window and are ignored: 'nope' row 0 ({feedback}:60), 'r1' row 3 "
        f"({feedback}:61); 2 have an unusable request_id, row or label and are ignored: "
        f"{feedback}:62, {feedback}:63")
    accuracy = checks["performance.accuracy"]
    assert accuracy.status == "fail"
    assert accuracy.message == ("live accuracy on 58 labelled rows 0.7414, configured to fail "
                                "when below 0.9")
    assert 'mlops_model_performance{model="breast-cancer",metric="accuracy"} 0.741' in result.metrics


def test_missing_feedback_is_skipped_with_its_path(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "logs" / "r.jsonl", records(data_rows("train.csv")[:60], NOW - 60))
    result = run_monitor(root_spec(), config(tmp_path), NOW)
    assert _checks(result)["performance.accuracy"].message == (
        "data/feedback.csv not found: live accuracy not computed (no labels have arrived yet)")


@pytest.mark.tools
def test_textfile_passes_promtool_check_metrics(tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    write_jsonl(tmp_path / "logs" / "r.jsonl", records(shifted(data_rows("current.csv")), NOW - 60))
    cfg = config(tmp_path)
    run_monitor(root_spec(), cfg, NOW)
    text = cfg.textfile.read_text()
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                             text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert [p.name for p in cfg.textfile.parent.iterdir() if p.name.startswith(".")] == []
    names = {line.split("{")[0] for line in text.splitlines() if not line.startswith("#")}
    no_challenger = (telemetry.PERFORMANCE, telemetry.CHALLENGER_AGREEMENT,
                     telemetry.CHALLENGER_SHIFT, telemetry.CHALLENGER_METRIC_DROP)
    assert names == {m.name for m in telemetry.MONITOR_METRICS if m not in no_challenger}


def _utc(seconds: float) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def test_the_verdict_names_the_models_that_served_the_window_and_pins_the_run(
        tmp_path: Path) -> None:
    """A monitor verdict is traceable: which model digests produced the judged rows (a rollout
    in the window shows both), and the report pins the spec, the model and the data read."""
    old, new = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    rows = records(data_rows("train.csv")[:60], NOW - 60)
    for index, record in enumerate(rows):
        record["model_digest"] = old if index < 20 else new
    write_jsonl(tmp_path / "logs" / "r.jsonl", rows)
    result = run_monitor(root_spec(), config(tmp_path), NOW)
    assert _checks(result)["window"].message == (
        f"60 rows logged between {_utc(NOW - 3600)} and {_utc(NOW)} in {tmp_path / 'logs'} "
        f"(1 file read; served by {new} (40 rows), {old} (20 rows))")
    pins = result.report.pins
    assert pins is not None and pins.model is not None
    assert pins.model.path == "models/model.onnx"
    assert "data/train.csv" in [data.path for data in pins.data]
