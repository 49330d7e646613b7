"""The data gate on the Ray engine reads a dataset in Google Cloud Storage (gcp-storage-emulator,
tests/emulators.py) and gives exactly the local engine's verdict, through the real CLI.

Ray's workers read the store with the credentials and endpoint of their own environment, as a
team's cluster nodes do. The suite's session cluster (tests/harness/conftest.py `ray_cluster`) was
started with the S3 test server's environment only, and Ray cannot be started twice in one process,
so `mlops gate data --engine ray` starts a cluster of its own here, in a process that has the
emulator's environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.emulators import Store, gcs_emulator
from tests.functional.test_object_stores import LAYOUTS, _dataset, _write
from tests.projects import breast_cancer_project

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with gcs_emulator(tmp_path_factory.mktemp("gcs")) as running:
        _write(running.filesystem, running.uri.removeprefix("gs://"), _dataset())
        yield running


def _gate(spec: Path, engine: str) -> tuple[int, str, list[dict[str, Any]]]:
    reports = spec.parent / f"reports-{engine}"
    done = subprocess.run([sys.executable, "-m", "mlops", "gate", "data", str(spec), "--engine",
                           engine, "--report-dir", str(reports)], cwd=spec.parent, text=True,
                          capture_output=True, timeout=600, env={**os.environ, "RAY_ADDRESS": ""})
    assert "Traceback" not in done.stderr, done.stderr
    report = json.loads((reports / "report-data.json").read_text())
    [gate] = report["gates"]
    return done.returncode, done.stdout, gate["checks"]


def test_the_ray_engine_gives_the_local_verdict_on_gcs(store: Store, tmp_path: Path) -> None:
    spec = breast_cancer_project(tmp_path / "project", {
        key: value.format(base=store.uri) for key, value in LAYOUTS["parquet"].items()})
    local, ray = _gate(spec, "local"), _gate(spec, "ray")
    assert ray == local
    code, stdout, checks = local
    assert (code, stdout) == (1, "breast-cancer: FAILED (1 failing checks: data/train.ranges)\n")
    assert {check["name"]: check["message"] for check in checks if check["status"] == "fail"} == {
        "train.ranges": f"{store.uri}/pq/train: column 'mean_radius' has 1 values below min 0, "
                        f"first -1 at row 5 of {store.uri}/pq/train/dt=2026-11-02/part-0.parquet"}
