"""The scheduled batch scoring run for real: the CronJob's container command and the RayCronJob's
entrypoint, read from what `mlops compile` wrote, run as local processes against a real S3 API
(moto's server) and a local Ray cluster.

Only what the cluster itself supplies is supplied here: Kubernetes' substitution of
`$(MLOPS_BATCH_RUN)` (the Job's name, from its pod's label), the shell Ray runs an entrypoint with,
and the RAY_ADDRESS Ray sets for a job's driver; the image's /app is the project's folder and
`mlops` the venv's.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
import yaml

from mlops.compiler.targets.docker import shipped_files
from mlops.spec.container import APP_DIR
from mlops.spec.loader import load_spec
from tests.harness.conftest import BUCKET
from tests.projects import ROOT, breast_cancer_project

pytestmark = pytest.mark.slow

MLOPS = Path(sys.executable).with_name("mlops")
PREFIX = f"s3://{BUCKET}/scheduled"
JOB_NAME = "breast-cancer-batch-29431200"
"""A name the CronJob gives a Job: itself, then its scheduled time in minutes since the epoch."""
RUN_TIMEOUT_S = 180


def _kubelet(part: str, env: dict[str, str]) -> str:
    """`$(NAME)` replaced by the container's variable, as the kubelet expands a command."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m[1], m[0]), part)


def _compiled(folder: Path, engine: str) -> Path:
    batch = {"input": f"{PREFIX}/in/", "output": f"{PREFIX}/{engine}-out/",
             "schedule": "30 2 * * *", "engine": engine, "secret": "team-bucket"}
    spec = breast_cancer_project(folder, {"batch": batch}, models=True)
    done = subprocess.run([sys.executable, "-m", "mlops", "compile", str(spec)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return spec.parent


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory, s3: pafs.S3FileSystem) -> dict[str, Path]:
    """The suite's project compiled for each engine; the current split (114 rows) in S3."""
    s3.create_dir(f"{BUCKET}/scheduled/in")
    with s3.open_output_stream(f"{BUCKET}/scheduled/in/current.csv") as stream:
        stream.write((ROOT / "data" / "current.csv").read_bytes())
    return {engine: _compiled(tmp_path_factory.mktemp(engine) / "project", engine)
            for engine in ("local", "ray")}


def _yaml(folder: Path, name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((folder / "generated" / "k8s" / "batch" / name).read_text()))


def _run_folder(output: str, s3: pafs.S3FileSystem) -> tuple[list[str], dict[str, Any]]:
    path = output.removeprefix("s3://")
    names = sorted(info.base_name for info in s3.get_file_info(pafs.FileSelector(path)))
    with s3.open_input_stream(f"{path}/_SUCCESS") as stream:
        return names, dict(json.loads(stream.read()))


def test_the_cronjobs_command_scores_into_its_runs_folder(projects: dict[str, Path],
                                                          s3: pafs.S3FileSystem,
                                                          tmp_path: Path) -> None:
    folder = projects["local"]
    pod = _yaml(folder, "cronjob.yaml")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    env = {**os.environ, "MLOPS_BATCH_RUN": JOB_NAME}
    command = [str(MLOPS) if part == "mlops" else
               _kubelet(part.replace(str(APP_DIR), str(folder)), env)
               for part in container["command"]]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "114 rows scored into 1 file(s)" in done.stdout
    names, summary = _run_folder(f"{PREFIX}/local-out/{JOB_NAME}", s3)
    assert names == ["_SUCCESS", "part-00000.parquet"]
    assert summary["rows"] == 114
    table = pq.read_table(f"{BUCKET}/scheduled/local-out/{JOB_NAME}/part-00000.parquet",
                          filesystem=s3)
    assert table.num_rows == 114
    # A pod retried after its run committed (or the same Job run twice) overwrites nothing.
    again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=RUN_TIMEOUT_S, check=False)
    assert again.returncode == 1
    assert "already holds predictions" in again.stderr
    assert _run_folder(f"{PREFIX}/local-out/{JOB_NAME}", s3) == (names, summary)


def test_the_raycronjobs_entrypoint_scores_on_the_cluster(projects: dict[str, Path],
                                                          s3: pafs.S3FileSystem,
                                                          ray_cluster: Any,
                                                          tmp_path: Path) -> None:
    folder = projects["ray"]
    entrypoint = _yaml(folder, "raycronjob.yaml")["spec"]["jobTemplate"]["entrypoint"]
    assert entrypoint.startswith("mlops ")
    line = str(MLOPS) + entrypoint.removeprefix("mlops").replace(str(APP_DIR), str(folder))
    env = {**os.environ, "RAY_ADDRESS": ray_cluster.get_runtime_context().gcs_address}
    done = subprocess.run(["sh", "-c", line], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(ray engine" in done.stdout
    runs = [info.base_name for info in
            s3.get_file_info(pafs.FileSelector(f"{BUCKET}/scheduled/ray-out"))]
    assert len(runs) == 1 and re.fullmatch(r"\d{8}T\d{6}Z", runs[0]), runs
    names, summary = _run_folder(f"{PREFIX}/ray-out/{runs[0]}", s3)
    assert names == ["_SUCCESS", "part-00000.parquet"]
    assert summary["rows"] == 114


def test_the_command_needs_only_what_the_image_carries(projects: dict[str, Path],
                                                       tmp_path: Path) -> None:
    """/app as the Dockerfile fills it: the spec and the files it ships (the model), no data
    (the spec's data.test, data.current and install.requirements are not there)."""
    folder = projects["local"]
    app = tmp_path / "app"
    for name in ["mlops.yaml", *shipped_files(load_spec(folder / "mlops.yaml").spec)]:
        (app / name).parent.mkdir(parents=True, exist_ok=True)
        (app / name).write_bytes((folder / name).read_bytes())
    pod = _yaml(folder, "cronjob.yaml")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    env = {**os.environ, "MLOPS_BATCH_RUN": f"{JOB_NAME}-app"}
    command = [str(MLOPS) if part == "mlops" else _kubelet(part.replace(str(APP_DIR), str(app)), env)
               for part in pod["containers"][0]["command"]]
    done = subprocess.run(command, cwd=app, env=env, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
