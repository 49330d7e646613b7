"""The monitoring target: alert rules that promtool accepts, unit tests that prove each alert fires
above its threshold and stays silent below, and the monitor job's config."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from mlops.compiler import yaml_emit
from mlops.compiler.targets.monitoring import Alert, alerts
from mlops.core import telemetry
from mlops.spec.cron import max_gap_seconds
from mlops.spec.loader import LoadedSpec, validate_text
from tests.compiler.k8s_support import OUTPUT, SPEC_NAMES, SPECS, load, parse, render, run, tool, write_tree
from tests.specs import REMOVE, breast_cancer, changed, spec_yaml

MONITORING = PurePosixPath("generated/monitoring")
METRICS = (*telemetry.SERVER_METRICS, *telemetry.MONITOR_METRICS)
DECLARED = {metric.name for metric in METRICS}
DISTRIBUTIONS = {metric.name for metric in METRICS if metric.kind in ("histogram", "summary")}
SERIES_SUFFIX = re.compile(r"_(bucket|sum|count)$")
PROMQL_FUNCTIONS = {"histogram_quantile", "sum", "rate", "max", "min", "time", "absent", "by", "le"}

EXPECTED_ALERTS = {
    "root": ["MlopsLatencyHigh", "MlopsErrorRateHigh", "MlopsDriftDetected",
             "MlopsPerformanceDegraded", "MlopsMonitorStale", "MlopsMonitorAbsent"],
    "regression": ["MlopsLatencyHigh", "MlopsErrorRateHigh", "MlopsDriftDetected",
                   "MlopsPerformanceDegraded", "MlopsMonitorStale", "MlopsMonitorAbsent"],
    "canary-argocd": ["MlopsDriftDetected", "MlopsMonitorStale", "MlopsMonitorAbsent"],
    "flux": ["MlopsLatencyHigh"],
    "long-names": ["MlopsDriftDetected", "MlopsMonitorStale", "MlopsMonitorAbsent"],
    "multiclass": ["MlopsLatencyHigh", "MlopsErrorRateHigh", "MlopsDriftDetected",
                   "MlopsPerformanceDegraded", "MlopsMonitorStale", "MlopsMonitorAbsent"],
}


def _rules(files: dict[PurePosixPath, Any]) -> list[dict[str, Any]]:
    return [rule for group in parse(files[MONITORING / "rules.yaml"])[0]["groups"]
            for rule in group["rules"]]


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_only_configured_alerts_exist(name: str) -> None:
    assert [rule["alert"] for rule in _rules(render(load(name)))] == EXPECTED_ALERTS[name]


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_rules_and_prometheusrule_carry_the_same_groups(name: str) -> None:
    files = render(load(name))
    (plain,) = parse(files[MONITORING / "rules.yaml"])
    (resource,) = parse(files[MONITORING / "prometheusrule.yaml"])
    assert resource["apiVersion"] == "monitoring.coreos.com/v1"
    assert resource["kind"] == "PrometheusRule"
    assert resource["spec"] == plain


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_rule_expressions_use_only_declared_metrics(name: str) -> None:
    spec = load(name).spec
    for rule in _rules(render(load(name))):
        selectors = re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}", rule["expr"])
        assert selectors, rule["expr"]
        for metric, matchers in selectors:
            assert metric in DECLARED or SERIES_SUFFIX.sub("", metric) in DISTRIBUTIONS, metric
            assert f'model="{spec.name}"' in matchers, rule["expr"]
        words = set(re.findall(r"[a-z_]+(?=\s*\()", rule["expr"]))
        assert words <= PROMQL_FUNCTIONS, words


def test_thresholds_and_durations_come_from_the_spec() -> None:
    rules = {rule["alert"]: rule for rule in _rules(render(load("regression")))}
    assert rules["MlopsLatencyHigh"]["expr"].endswith("[5m]))) > 0.12")
    assert rules["MlopsLatencyHigh"]["for"] == "10m"
    assert rules["MlopsErrorRateHigh"]["expr"].endswith("> 0.02")
    assert rules["MlopsErrorRateHigh"]["for"] == "2m"
    assert rules["MlopsDriftDetected"]["expr"] == (
        'max(mlops_drifted_features_fraction{model="house-prices"}) > 0.5')
    # rmse is an error metric: the alert fires above monitors.performance.min.
    assert rules["MlopsPerformanceDegraded"]["expr"] == (
        'max(mlops_model_performance{model="house-prices",metric="rmse"}) > 40')
    # Half-hourly job: stale after 30 minutes plus the 30-minute grace.
    assert rules["MlopsMonitorStale"]["expr"].endswith("> 3600")
    assert rules["MlopsMonitorAbsent"]["for"] == "1h"
    assert "1h" in rules["MlopsMonitorStale"]["annotations"]["summary"]
    for rule in rules.values():
        assert rule["labels"]["model"] == "house-prices"
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
    assert "120 ms" in rules["MlopsLatencyHigh"]["annotations"]["summary"]
    assert "2%" in rules["MlopsErrorRateHigh"]["annotations"]["summary"]


@pytest.mark.parametrize(("schedule", "gap"), [
    ("0 * * * *", 3600),
    ("*/30 * * * *", 1800),
    ("15 3 * * *", 86400),
    ("0 9-17 * * 1-5", (24 * 2 + 16) * 3600),  # Friday 17:00 -> Monday 09:00
    ("0 6 * * 1", 7 * 86400),
    ("0 0 1 * *", 31 * 86400),
    ("0 0 1,15 * *", 17 * 86400),  # the 15th -> the 1st after a 31-day month
    ("0 0 29 2 *", (4 * 365 + 1) * 86400),  # leap days only
    ("30 4 1 * 0", 7 * 86400),  # vixie cron: the 1st OR any Sunday
])
def test_cron_max_gap(schedule: str, gap: int) -> None:
    assert max_gap_seconds(schedule) == gap


def _write_monitoring(loaded: LoadedSpec, root: Path) -> Path:
    return write_tree(render(loaded), root) / "monitoring"


@pytest.fixture(scope="module")
def monitoring_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {name: _write_monitoring(load(name), tmp_path_factory.mktemp(name))
            for name in SPEC_NAMES}


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_promtool_checks_the_rules(name: str, monitoring_dirs: dict[str, Path]) -> None:
    result = run([tool("promtool"), "check", "rules", "rules.yaml"], cwd=monitoring_dirs[name])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(EXPECTED_ALERTS[name])} rules found" in result.stdout


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_promtool_unit_tests_pass(name: str, monitoring_dirs: dict[str, Path]) -> None:
    (tests,) = yaml.safe_load_all((monitoring_dirs[name] / "rules.test.yaml").read_text())
    fired = {t["alert_rule_test"][0]["alertname"] for t in tests["tests"]
             if t["alert_rule_test"][0]["exp_alerts"]}
    silent = {t["alert_rule_test"][0]["alertname"] for t in tests["tests"]
              if not t["alert_rule_test"][0]["exp_alerts"]}
    assert fired == silent == set(EXPECTED_ALERTS[name])
    result = run([tool("promtool"), "test", "rules", "rules.test.yaml"], cwd=monitoring_dirs[name])
    assert result.returncode == 0, result.stdout + result.stderr


def _mutated(found: list[Alert], alert: str, expr: str) -> list[Alert]:
    return [replace(a, expr=expr) if a.name == alert else a for a in found]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["root", "multiclass"])
def test_promtool_tests_fail_when_an_alert_cannot_fire_or_always_fires(
        name: str, tmp_path: Path) -> None:
    """The unit tests have teeth: each alert, made mute or made to fire always, fails them."""
    from mlops.compiler.targets import monitoring

    loaded = load(name)
    found = alerts(loaded.spec)
    tests = monitoring.rule_tests(loaded.spec.name, found)
    step = f"{monitoring.evaluation_step(loaded.spec)}m"
    for alert in found:
        for label, expr in (("mute", "vector(0) > 1"), ("always", "vector(1)")):
            folder = tmp_path / f"{alert.name}-{label}"
            folder.mkdir()
            groups = monitoring.rule_groups(loaded.spec.name, _mutated(found, alert.name, expr))
            (folder / "rules.yaml").write_text(yaml_emit.dump({"groups": groups}))
            own = [t for t in tests if t["alert_rule_test"][0]["alertname"] == alert.name]
            (folder / "rules.test.yaml").write_text(yaml_emit.dump(
                {"rule_files": ["rules.yaml"], "evaluation_interval": step, "tests": own}))
            result = run([tool("promtool"), "test", "rules", "rules.test.yaml"], cwd=folder)
            assert result.returncode != 0, f"{alert.name} {label}: promtool tests still pass"


def test_an_unmonitored_spec_gives_empty_valid_rules(tmp_path: Path) -> None:
    loaded = load("flux")
    quiet = replace(loaded, spec=loaded.spec.model_copy(update={
        "monitors": loaded.spec.monitors.model_copy(update={"latency": None})}))
    folder = _write_monitoring(quiet, tmp_path)
    assert parse(render(quiet)[MONITORING / "rules.yaml"]) == [{"groups": []}]
    assert run([tool("promtool"), "check", "rules", "rules.yaml"], cwd=folder).returncode == 0
    assert run([tool("promtool"), "test", "rules", "rules.test.yaml"], cwd=folder).returncode == 0


def test_monitor_config_states_what_the_job_reads_and_writes() -> None:
    (config,) = parse(render(load("regression"))[MONITORING / "monitor.yaml"])
    assert config["model"] == "house-prices"
    assert config["schedule"] == "*/30 * * * *"
    assert config["window"] == "30m"
    assert config["request_log"] == {"path": "/data/requests", "format": "jsonl"}
    assert config["reference"] == "train.csv"
    assert config["drift"] == {"method": "ks", "threshold": 0.05, "max_drifted_features": 0.5,
                               "bins": 10, "features": ["rooms", "area"]}
    assert config["performance"] == {"metric": "rmse", "threshold": 40, "alert_when": "above",
                                     "labels": "feedback.csv", "join_key": "request_id"}
    assert config["metrics"]["pushgateway"] == "http://pushgateway.monitoring.svc:9091"
    assert config["metrics"]["names"] == {
        "drift_score": telemetry.DRIFT_SCORE.name,
        "drifted_features_fraction": telemetry.DRIFTED_FRACTION.name,
        "performance": telemetry.PERFORMANCE.name,
        "last_run": telemetry.MONITOR_LAST_RUN.name,
    }
    assert config["on_alert"] == ["open_issue"]


def test_monitor_config_without_drift_or_request_log() -> None:
    (config,) = parse(render(load("canary-argocd"))[MONITORING / "monitor.yaml"])
    assert config["performance"] is None
    assert config["metrics"]["pushgateway"] == "http://pushgateway.monitoring.svc:9091"
    (flux,) = parse(render(load("flux"))[MONITORING / "monitor.yaml"])
    assert flux["drift"] is None
    assert flux["request_log"] is None
    (multiclass,) = parse(render(load("multiclass"))[MONITORING / "monitor.yaml"])
    assert multiclass["drift"]["features"] == ["petal_length", "petal_width"]
    assert multiclass["performance"]["alert_when"] == "below"


def test_durations_read_like_prometheus_writes_them() -> None:
    rules = {rule["alert"]: rule for rule in _rules(render(load("multiclass")))}
    # A weekly job: stale after 7 days plus the 30-minute grace.
    assert rules["MlopsMonitorAbsent"]["for"] == "7d30m"
    assert rules["MlopsMonitorStale"]["expr"].endswith("> 606600")
    assert rules["MlopsLatencyHigh"]["for"] == "1m"
    assert rules["MlopsDriftDetected"]["for"] == "0s"


def test_rule_labels_reach_the_prometheusrule_resource() -> None:
    text = spec_yaml(changed(breast_cancer(),
                             {"monitors.rule_labels": {"release": "kube-prometheus-stack"}}))
    loaded = validate_text(text, SPECS["root"], display="mlops.yaml", check_files=False)
    (resource,) = parse(render(loaded)[OUTPUT / "monitoring" / "prometheusrule.yaml"])
    assert resource["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_no_liveness_alerts_without_a_pushgateway() -> None:
    """A batch job's metrics reach Prometheus only through a Pushgateway; without one an absence
    alert would fire forever."""
    text = spec_yaml(changed(breast_cancer(), {"monitors.pushgateway": REMOVE}))
    loaded = validate_text(text, SPECS["root"], display="mlops.yaml", check_files=False)
    assert loaded.spec.monitors.pushgateway is None
    names = [rule["alert"] for rule in _rules(render(loaded))]
    assert names == ["MlopsLatencyHigh", "MlopsErrorRateHigh", "MlopsDriftDetected",
                     "MlopsPerformanceDegraded"]
