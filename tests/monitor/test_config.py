"""The monitor's config: the spec and the generated monitor.yaml (the CronJob's ConfigMap) agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops.harness.monitor import MonitorConfig, MonitorError
from tests.monitor.monitor_helpers import ROOT, root_spec


def test_generated_monitor_yaml_reads_as_the_spec_does() -> None:
    loaded = root_spec()
    from_file = MonitorConfig.from_file(ROOT / "generated" / "monitoring" / "monitor.yaml", loaded)
    assert from_file == MonitorConfig.from_spec(loaded)
    assert from_file.window_s == 3600
    assert from_file.log_dir == Path("/var/log/mlops")
    assert from_file.drift is not None and len(from_file.drift.features) == 30
    assert from_file.performance is not None and from_file.performance.alert_when == "below"


def test_textfile_moves_with_the_report_dir(tmp_path: Path) -> None:
    base = MonitorConfig.from_spec(root_spec())
    assert base.textfile == ROOT / "reports" / "monitor" / "metrics.prom"
    moved = base.with_overrides(log_dir=None, window_s=None, feedback=None,
                                report_dir=tmp_path / "out", textfile=None)
    assert moved.textfile == tmp_path / "out" / "metrics.prom"
    pinned = base.with_overrides(log_dir=None, window_s=60, feedback=tmp_path / "f.csv",
                                 report_dir=tmp_path / "out", textfile=tmp_path / "m.prom")
    assert (pinned.textfile, pinned.window_s) == (tmp_path / "m.prom", 60)
    assert pinned.performance is not None and pinned.performance.labels == tmp_path / "f.csv"


@pytest.mark.parametrize(("text", "message"), [
    ("- a list\n", "{path}: expected a mapping of monitor settings"),
    ("model: m\ntask: regression\nwindow: soon\nmetrics: {textfile: m.prom}\n",
     "{path}: 'window': expected a duration like '1h', got 'soon'"),
    ("model: m\ntask: regression\nwindow: 1h\nreference: r.csv\ndrift: {method: median}\n"
     "metrics: {textfile: m.prom}\nreports: r\non_alert: []\n",
     "{path}: 'drift.method': expected one of psi, ks, wasserstein, jensen_shannon, chi2, got "
     "'median'"),
    ("model: [\n", None),
])
def test_bad_monitor_yaml_names_the_key(tmp_path: Path, text: str, message: str | None) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(text)
    with pytest.raises(MonitorError) as caught:
        MonitorConfig.from_file(path, root_spec())
    if message is None:
        assert str(caught.value).startswith(f"{path}: not valid YAML: ")
    else:
        assert str(caught.value) == message.format(path=path)
    assert caught.value.exit_code == 2
