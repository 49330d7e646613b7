"""monitors.challenger in the monitoring target: alert rules on the numbers `mlops monitor run`
exports for serving.challenger, with promtool unit tests that have teeth, and the monitor.yaml
section the CronJob reads back as the spec does."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from mlops.compiler import yaml_emit
from mlops.compiler.targets import monitoring
from mlops.harness.monitor import MonitorConfig
from mlops.spec.loader import LoadedSpec, validate_text
from tests.compiler.k8s_support import OUTPUT, SPECS, parse, render, run, tool, write_tree
from tests.specs import breast_cancer, changed, spec_yaml

CHALLENGER_ALERTS = ["MlopsChallengerDisagrees", "MlopsChallengerPredictionShift",
                     "MlopsChallengerWorse"]
ROUTED = [{"name": "prod", "namespace": "prod", "rollout": {
    "strategy": "canary", "traffic": {"router": "gateway_api", "hosts": ["bc.example.com"],
                                      "gateway": {"name": "public", "namespace": "gateways"}}}}]


def _loaded(judge: dict[str, Any]) -> LoadedSpec:
    text = spec_yaml(changed(breast_cancer(), {
        "deploy.environments": ROUTED,
        "serving.request_log": {"path": "logs"},
        "serving.challenger": {"model": "models/challenger.onnx", "mode": "shadow"},
        "monitors.challenger": judge}))
    return validate_text(text, SPECS["root"], display="mlops.yaml", check_files=False)


def _rules(loaded: LoadedSpec) -> dict[str, dict[str, Any]]:
    (document,) = parse(render(loaded)[OUTPUT / "monitoring" / "rules.yaml"])
    return {rule["alert"]: rule for group in document["groups"] for rule in group["rules"]}


def test_the_limits_become_alerts_on_the_exported_numbers() -> None:
    rules = _rules(_loaded({"min_agreement": 0.9, "max_prediction_shift": 0.25,
                            "max_metric_drop": 0.02}))
    assert [name for name in rules if name.startswith("MlopsChallenger")] == CHALLENGER_ALERTS
    assert {name: (rules[name]["expr"], rules[name]["labels"]["severity"])
            for name in CHALLENGER_ALERTS} == {
        "MlopsChallengerDisagrees": (
            'min(mlops_challenger_agreement{model="breast-cancer"}) < 0.9', "warning"),
        "MlopsChallengerPredictionShift": (
            'max(mlops_challenger_prediction_shift{model="breast-cancer"}) > 0.25', "warning"),
        "MlopsChallengerWorse": (
            'max(mlops_challenger_metric_drop{model="breast-cancer",metric="accuracy"}) > 0.02',
            "critical"),
    }


def test_a_p_value_shift_alerts_below_its_limit_and_no_drop_limit_no_alert() -> None:
    rules = _rules(_loaded({"method": "ks", "max_prediction_shift": 0.01}))
    assert rules["MlopsChallengerPredictionShift"]["expr"] == (
        'min(mlops_challenger_prediction_shift{model="breast-cancer"}) < 0.01')
    assert "MlopsChallengerWorse" not in rules


def test_promtool_accepts_the_rules_and_their_tests_have_teeth(tmp_path: Path) -> None:
    loaded = _loaded({"min_agreement": 0.9, "max_metric_drop": 0.02})
    folder = write_tree(render(loaded), tmp_path / "all") / "monitoring"
    for command in (["check", "rules", "rules.yaml"], ["test", "rules", "rules.test.yaml"]):
        result = run([tool("promtool"), *command], cwd=folder)
        assert result.returncode == 0, result.stdout + result.stderr
    found = monitoring.alerts(loaded.spec)
    tests = monitoring.rule_tests(loaded.spec.name, found)
    step = f"{monitoring.evaluation_step(loaded.spec)}m"
    for name in CHALLENGER_ALERTS:
        for label, expr in (("mute", "vector(0) > 1"), ("always", "vector(1)")):
            mutated = [replace(a, expr=expr) if a.name == name else a for a in found]
            where = tmp_path / f"{name}-{label}"
            where.mkdir()
            (where / "rules.yaml").write_text(yaml_emit.dump(
                {"groups": monitoring.rule_groups(loaded.spec.name, mutated)}))
            own = [t for t in tests if t["alert_rule_test"][0]["alertname"] == name]
            (where / "rules.test.yaml").write_text(yaml_emit.dump(
                {"rule_files": ["rules.yaml"], "evaluation_interval": step, "tests": own}))
            result = run([tool("promtool"), "test", "rules", "rules.test.yaml"], cwd=where)
            assert result.returncode != 0, f"{name} {label}: promtool tests still pass"


def test_the_cronjob_reads_the_challenger_limits_as_the_spec_says(tmp_path: Path) -> None:
    loaded = _loaded({"min_agreement": 0.9, "max_metric_drop": 0.02,
                      "min_requests": 500})
    monitor_yaml = write_tree(render(loaded), tmp_path) / "monitoring" / "monitor.yaml"
    from_file = MonitorConfig.from_file(monitor_yaml, loaded)
    assert from_file == MonitorConfig.from_spec(loaded)
    assert from_file.challenger is not None and from_file.challenger.min_requests == 500
