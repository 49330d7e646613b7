"""The stuck request-log upload alert (serving.request_log.upload): a rule promtool accepts, whose
generated unit tests fire on failing uploads with none done and stay silent otherwise, and fail
when the rule is made mute or always firing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import yaml

from mlops.compiler import yaml_emit
from mlops.compiler.targets import monitoring
from mlops.compiler.targets.monitoring import alerts
from mlops.spec.loader import LoadedSpec
from mlops.spec.models import RequestLog
from tests.compiler.k8s_support import load, render, run, tool, write_tree

NAME = "MlopsRequestLogUploadStuck"


def _uploading(sample_rate: float = 0.1) -> LoadedSpec:
    loaded = load("flux")
    serving = loaded.spec.serving.model_copy(update={"request_log": RequestLog(
        path="/var/log/mlops", upload="s3://acme-logs/churn", sample_rate=sample_rate)})
    return replace(loaded, spec=loaded.spec.model_copy(update={"serving": serving}))


def test_an_uploading_server_gets_the_stuck_upload_alert(tmp_path: Path) -> None:
    loaded = _uploading()
    model = loaded.spec.name
    [alert] = [alert for alert in alerts(loaded.spec) if alert.name == NAME]
    assert alert.expr == (
        f'sum by (variant) (increase(mlops_request_log_upload_failures_total{{model="{model}"}}'
        f'[15m])) > 0 and sum by (variant) (increase(mlops_request_log_uploaded_files_total'
        f'{{model="{model}"}}[15m])) == 0')
    assert alert.summary == f"{model}: request logs not reaching s3://acme-logs/churn"
    folder = write_tree(render(loaded), tmp_path) / "monitoring"
    checked = run([tool("promtool"), "check", "rules", "rules.yaml"], cwd=folder)
    assert checked.returncode == 0 and "SUCCESS: 2 rules found" in checked.stdout, checked.stdout
    (tests,) = yaml.safe_load_all((folder / "rules.test.yaml").read_text())
    own = [test for test in tests["tests"] if test["name"].startswith(NAME)]
    assert [bool(test["alert_rule_test"][0]["exp_alerts"]) for test in own] == [True, False, False]
    assert own[0]["alert_rule_test"][0]["exp_alerts"][0]["exp_labels"] == {
        "variant": "champion", "severity": "warning", "model": model}
    tested = run([tool("promtool"), "test", "rules", "rules.test.yaml"], cwd=folder)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_the_alerts_unit_tests_have_teeth(tmp_path: Path) -> None:
    loaded = _uploading()
    found = alerts(loaded.spec)
    own = [test for test in monitoring.rule_tests(loaded.spec.name, found)
           if test["alert_rule_test"][0]["alertname"] == NAME]
    for label, expr in (("mute", "vector(0) > 1"), ("always", "vector(1)")):
        mutated = [replace(alert, expr=expr) if alert.name == NAME else alert for alert in found]
        folder = tmp_path / label
        folder.mkdir()
        groups = monitoring.rule_groups(loaded.spec.name, mutated)
        (folder / "rules.yaml").write_text(yaml_emit.dump({"groups": groups}))
        (folder / "rules.test.yaml").write_text(yaml_emit.dump(
            {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": own}))
        result = run([tool("promtool"), "test", "rules", "rules.test.yaml"], cwd=folder)
        assert result.returncode != 0, f"{label}: promtool tests still pass"


def test_no_alert_without_an_upload_or_without_logging() -> None:
    assert NAME not in [alert.name for alert in alerts(load("flux").spec)]
    assert NAME not in [alert.name for alert in alerts(_uploading(sample_rate=0).spec)]
