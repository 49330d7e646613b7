"""Every report pins the tool version, commit, spec, model and baseline digests and each data file:
the real CLI on a real git repository, and saved reports from before pins still re-render."""

from __future__ import annotations

import hashlib
import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlops.harness.reports.pins import fingerprint
from tests.harness.report_paths import absolute_paths
from tests.projects import breast_cancer_project, git, make_repository
from tests.serving.serve_helpers import MLOPS


def _cli_version() -> str:
    """The version the CLI reports (this process may see another copy's metadata in the tree)."""
    return subprocess.run([MLOPS, "--version"], capture_output=True, text=True,
                          check=True).stdout.split()[-1]


def _sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example committed and pushed, so origin/main holds the baseline model."""
    seed = breast_cancer_project(tmp_path_factory.mktemp("seed") / "p", models=True)
    return make_repository(tmp_path_factory.mktemp("repo") / "r", {
        p.relative_to(seed.parent).as_posix(): p.read_bytes()
        for p in seed.parent.rglob("*") if p.is_file()})


def _gate(repository: Path, which: str) -> Path:
    reports = repository / f"reports-{which}"
    subprocess.run([MLOPS, "gate", which, "mlops.yaml", "--report-dir", reports.name],
                   cwd=repository, capture_output=True, text=True, timeout=600)
    return reports


def _data(repository: Path) -> list[dict[str, object]]:
    return [{"path": name, "sha256": _sha256(repository / name),
             "bytes": (repository / name).stat().st_size, "rows": None}
            for name in ("data/train.csv", "data/test.csv", "data/current.csv")]


def test_the_model_gate_pins_everything_in_every_format(repository: Path) -> None:
    reports = _gate(repository, "model")
    saved = json.loads((reports / "report-model.json").read_text())
    model = _sha256(repository / "models" / "model.onnx")
    head = git(repository, "rev-parse", "HEAD").strip()
    assert saved["schema_version"] == 1 and saved["commit"] == head
    assert saved["pins"] == {
        "tool_version": _cli_version(),
        "spec_sha256": _sha256(repository / "mlops.yaml"),
        "model": {"path": "models/model.onnx", "sha256": model,
                  "bytes": (repository / "models" / "model.onnx").stat().st_size, "rows": None},
        "baseline_model": {"ref": "origin/main", "commit": head, "sha256": model},
        "data": _data(repository),
    }
    markdown = (reports / "report-model.md").read_text()
    assert (f"<details><summary>Pinned: mlops {_cli_version()} · spec "
            f"{_sha256(repository / 'mlops.yaml')[:19]} · model {model[:19]} · baseline "
            f"{model[:19]} (origin/main {head[:7]}) · 3 data files</summary>") in markdown
    assert f"| model | `models/model.onnx` | `{model}` |" in markdown
    suite = ET.fromstring((reports / "junit-model.xml").read_text()).find("testsuite")
    assert suite is not None
    properties = {p.get("name"): p.get("value") for p in suite.findall("properties/property")}
    assert properties == {
        "mlops.version": _cli_version(), "mlops.commit": head,
        "mlops.spec.sha256": _sha256(repository / "mlops.yaml"), "mlops.model.sha256": model,
        "mlops.baseline.sha256": model, "mlops.baseline.commit": head,
        **{f"mlops.data.{d['path']}.sha256": str(d["sha256"]) for d in _data(repository)}}
    assert suite[0].tag == "properties"  # junit-10.xsd: properties come first
    html = (reports / "report-model.html").read_text()
    assert '<details id="pins"><summary>Pinned: mlops ' in html and model in html
    assert absolute_paths(reports, repository) == []


def test_a_gate_without_a_baseline_pins_none(repository: Path) -> None:
    saved = json.loads((_gate(repository, "data") / "report-data.json").read_text())
    assert saved["pins"]["baseline_model"] is None
    assert saved["pins"]["data"] == _data(repository)


def test_a_report_saved_before_pins_still_renders(repository: Path, tmp_path: Path) -> None:
    saved = json.loads((_gate(repository, "data") / "report-data.json").read_text())
    del saved["pins"]
    old = tmp_path / "report-data.json"
    old.write_text(json.dumps(saved))
    done = subprocess.run([MLOPS, "report", str(old)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Pinned:" not in (tmp_path / "report-data.md").read_text()
    suite = ET.fromstring((tmp_path / "junit-data.xml").read_text()).find("testsuite")
    assert suite is not None
    assert [(p.get("name"), p.get("value")) for p in suite.findall("properties/property")] == [
        ("mlops.commit", saved["commit"])]


def test_a_parquet_file_is_pinned_with_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "data" / "train.parquet"
    path.parent.mkdir()
    pq.write_table(pa.table({"x": list(range(7))}), path)
    assert fingerprint(path, tmp_path).model_dump() == {
        "path": "data/train.parquet", "sha256": _sha256(path), "bytes": path.stat().st_size,
        "rows": 7}
