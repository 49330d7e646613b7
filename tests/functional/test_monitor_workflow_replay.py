"""The scheduled monitor workflow, replayed in a fresh virtualenv that installs exactly what the
workflow installs (`mlops-yaml[monitor]`, from a wheel of this checkout), where it is generated:
a repository whose request log lives in the checkout (a relative serving.request_log.path). pip
installs without byte-compiling (tests.tooling.NO_COMPILE): the same distributions, sooner."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from mlops.compiler.compile import prepare, write
from tests.monitor.monitor_helpers import data_rows, records, write_jsonl
from tests.projects import breast_cancer_project
from tests.tooling import NO_COMPILE
from tests.workflow_replay import replay

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def monitored_repository(destination: Path) -> Path:
    """The breast-cancer project with its request log in the repository (logs/), an hour of
    traffic in it."""
    write(prepare([breast_cancer_project(destination, {"serving.request_log.path": "logs"},
                                         models=True)]))
    write_jsonl(destination / "logs" / "requests.jsonl",
                records(data_rows("current.csv"), time.time() - 600))
    subprocess.run(["git", "init", "--quiet"], cwd=destination, check=True)
    return destination


def test_the_monitor_workflow_runs_with_exactly_what_it_installs(tmp_path: Path,
                                                                 wheel: Path) -> None:
    project = monitored_repository(tmp_path / "team")
    workflow = project / ".github" / "workflows" / "mlops-breast-cancer-monitor.yml"
    result = replay(workflow, project, wheel.parent, job="monitor", env=NO_COMPILE)
    assert result.ok, str(result)
    assert [step.name for step in result.steps if step.ran] == [
        "Install mlops", "Run the monitor", "Write the step summary"]
    assert result.step("Fail on alert").note == (
        "skipped (if: steps.monitor.outputs.alert == 'true')")
    monitor = result.step("Run the monitor").output
    assert "window: " not in monitor and "breast-cancer: no alert" in monitor  # the window passed
    assert "mlops monitor for `breast-cancer`" in result.summary
    assert result.installed["mlops-yaml"] == wheel.name.split("-")[1]
    assert {"pyarrow", "onnxruntime", "orjson"} <= set(result.installed)
    assert not {"uvicorn", "locust", "pandas", "scikit-learn"} & set(result.installed)
