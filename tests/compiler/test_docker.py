"""The generated Dockerfile: what it must contain, and what hadolint and checkov say about it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlops.compiler.compile import prepare, write
from mlops.compiler.targets.docker import copies
from mlops.core.version import release_version
from mlops.spec.models import Spec
from tests.compiler.compiler_helpers import CASES, ROOT, compile_case, find_tool, run_tool
from tests.compiler.k8s_support import kustomize, run
from tests.specs import REMOVE, breast_cancer, changed, write_spec

CHECKOV = str(ROOT / ".venv-checkov" / "bin" / "checkov")
HINT = "run `make tools`"


def docker_dir(root: Path) -> Path:
    """The case's generated docker folder (its spec may set compile.output)."""
    found = sorted(root.rglob("docker/Dockerfile"))
    assert len(found) == 1, found
    return found[0].parent


def dockerfile(root: Path) -> str:
    return (docker_dir(root) / "Dockerfile").read_text()


@pytest.mark.parametrize("case", sorted(CASES))
def test_two_stages_non_root_healthcheck_and_serve(case: str,
                                                   compiled: Callable[[str], Path]) -> None:
    text = dockerfile(compiled(case))
    froms = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert len(froms) == 2 and froms[0] == froms[1], froms  # builder + runtime, same pinned base
    runtime = text.split("\nFROM ", 2)[2]
    assert "COPY --from=builder /opt/venv /opt/venv" in runtime
    assert re.search(r"^USER 10001:10001$", runtime, re.MULTILINE)
    assert "pip install" not in runtime  # nothing is installed in the runtime stage
    assert "HEALTHCHECK" in runtime and "/v2/health/live" in runtime and "curl" not in runtime
    assert 'ENTRYPOINT ["/opt/venv/bin/mlops", "serve", "/app/mlops.yaml"]' in runtime
    assert re.search(r"^EXPOSE \d+$", runtime, re.MULTILINE)
    version = re.escape(release_version())
    # the tool version, pinned; signing when serving.verify is set
    assert re.search(rf"'mlops-yaml\[serve(,monitor)?(,signing)?\]=={version}'", text)
    installed = text.split("\nLABEL ", 1)[0]  # the labels name the model ("digits-torch")
    for heavy in ("torch", "locust", "scikit-learn", "sklearn", "train]", "load]"):
        assert heavy not in installed
    ignore = (docker_dir(compiled(case)) / "Dockerfile.dockerignore").read_text()
    assert "\n*\n" in ignore and "!mlops.yaml" in ignore and "!wheelhouse/*.whl" in ignore
    assert not (docker_dir(compiled(case)) / ".dockerignore").exists()  # read by no builder


def test_spec_drives_base_image_port_model_and_parquet(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "mlops.yaml", changed(breast_cancer(), {
        "serving.request_log": {"path": "/srv/requests", "format": "parquet"},
        "monitors.performance.claim": REMOVE, "serving.port": 9000,
        "serving.base_image": "python:3.11.14-slim-bookworm@sha256:" + "a" * 64}))
    write(prepare([spec]))
    generated = dockerfile(tmp_path)
    assert generated.count("FROM python:3.11.14-slim-bookworm@sha256:" + "a" * 64) == 2
    assert "EXPOSE 9000" in generated and "127.0.0.1:9000/v2/health/live" in generated
    assert "'mlops-yaml[serve,monitor]==" in generated  # Parquet request logs need pyarrow
    assert "RUN mkdir -p /srv/requests && chown 10001:10001 /srv/requests" in generated
    assert "COPY models/model.onnx /app/models/model.onnx" in generated
    assert "data/train.csv" not in generated  # no in-cluster monitor (no claim): no reference


def test_the_in_cluster_monitor_gets_its_reference_data_and_pyarrow(
        compiled: Callable[[str], Path]) -> None:
    """The example shares its request log with the CronJob (a claim), which runs in this image:
    the image carries the reference data the monitor compares with, and the monitor's extra."""
    root = compiled("breast-cancer")
    text = dockerfile(root)
    assert "COPY data/train.csv /app/data/train.csv\n" in text
    assert "'mlops-yaml[serve,monitor]==" in text
    ignore = (docker_dir(root) / "Dockerfile.dockerignore").read_text()
    assert ignore.endswith("*\n!mlops.yaml\n!models/model.onnx\n!data/train.csv\n!wheelhouse/*.whl\n")
    assert "'mlops-yaml[serve]==" in dockerfile(compiled("flux-minimal"))  # no request log


def test_a_relative_request_log_lives_under_the_app_folder(compiled: Callable[[str], Path]) -> None:
    """canary-argocd logs to 'logs': /app/logs in the image, the pod's volume and its env."""
    root = compiled("canary-argocd")
    assert "RUN mkdir -p /app/logs && chown 10001:10001 /app/logs" in dockerfile(root)
    deployment = (root / "generated/k8s/base/deployment.yaml").read_text()
    assert "- name: request-log\n              mountPath: /app/logs\n" in deployment
    kustomization = (root / "generated/k8s/base/kustomization.yaml").read_text()
    assert "- MLOPS_REQUEST_LOG_DIR=/app/logs\n" in kustomization
    assert "/logs" not in dockerfile(root).replace("/app/logs", "")
    for overlay in sorted((root / "generated/k8s/overlays").iterdir()):
        manifests = kustomize(overlay)
        assert "mountPath: /app/logs" in manifests
        checked = run([find_tool("kubernetes-validate", HINT), "--strict", "-k", "1.32.0", "-"],
                      stdin=manifests)
        assert checked.returncode == 0 and "ERROR" not in checked.stdout, checked.stdout


def test_hadolint_passes(compiled: Callable[[str], Path], tmp_path: Path) -> None:
    hadolint = find_tool("hadolint", HINT)
    for case in sorted(CASES):
        path = docker_dir(compiled(case)) / "Dockerfile"
        result = run_tool([hadolint, "--failure-threshold", "warning", str(path)])
        assert result.returncode == 0, f"{case}: {result.stdout}{result.stderr}"
    bad = tmp_path / "Dockerfile"  # the same tool fails a Dockerfile with a warning-level problem
    bad.write_text(re.sub(r"^FROM \S+", "FROM python:latest", dockerfile(compiled("breast-cancer")),
                          flags=re.MULTILINE))
    assert run_tool([hadolint, "--failure-threshold", "warning", str(bad)]).returncode != 0


@pytest.fixture(scope="module")
def checkov_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One checkov run over every case's Dockerfile, plus an insecure copy that must fail."""
    folder = tmp_path_factory.mktemp("checkov-docker")
    for case in sorted(CASES):
        root = compile_case(case, tmp_path_factory.mktemp(case))
        (folder / case).mkdir()
        (folder / case / "Dockerfile").write_text(dockerfile(root))
    (folder / "insecure").mkdir()
    insecure = re.sub(r"^(USER|HEALTHCHECK).*\n(  CMD.*\n)?", "",
                      dockerfile(compile_case("breast-cancer", tmp_path_factory.mktemp("bad"))),
                      flags=re.MULTILINE)
    (folder / "insecure" / "Dockerfile").write_text(insecure)
    result = run_tool([find_tool(CHECKOV, HINT), "--framework", "dockerfile", "--skip-download",
                       "--compact", "--output", "json", "--directory", str(folder)])
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    report = report[0] if isinstance(report, list) else report
    return dict(report["results"])


def _ids(results: dict[str, Any], outcome: str, folder: str) -> set[str]:
    return {c["check_id"] for c in results.get(outcome, [])
            if c["file_path"].startswith(f"/{folder}/")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_checkov_finds_no_failed_check(case: str, checkov_results: dict[str, Any]) -> None:
    assert _ids(checkov_results, "failed_checks", case) == set()
    assert _ids(checkov_results, "skipped_checks", case) == set()
    assert {"CKV_DOCKER_2", "CKV_DOCKER_3"} <= _ids(checkov_results, "passed_checks", case)


def test_checkov_fails_the_insecure_variant(checkov_results: dict[str, Any]) -> None:
    assert {"CKV_DOCKER_2", "CKV_DOCKER_3"} <= _ids(checkov_results, "failed_checks", "insecure")


@pytest.mark.parametrize(("verify", "expected"), [
    (None, ["models/model.onnx -> /app/models/model.onnx",
            "models/challenger.onnx -> /app/models/challenger.onnx",
            "data/train.csv -> /app/data/train.csv"]),
    ({"public_key": "keys/team.pub"},
     ["models/model.onnx models/model.onnx.sig* -> /app/models/",
      "models/challenger.onnx models/challenger.onnx.sig* -> /app/models/",
      "keys/team.pub -> /app/keys/team.pub", "data/train.csv -> /app/data/train.csv"]),
])
def test_the_image_carries_the_challenger_and_its_signature(verify: dict[str, str] | None,
                                                             expected: list[str]) -> None:
    """The challenger's Deployment runs this image (`mlops serve --variant challenger`)."""
    challenger = {"model": "models/challenger.onnx", "mode": "shadow"}
    spec = Spec.model_validate(changed(breast_cancer(), {
        "serving.challenger": challenger, **({"serving.verify": verify} if verify else {})}))
    assert [f"{copy.sources} -> {copy.destination}" for copy in copies(spec)] == expected


def test_data_in_object_storage_is_neither_copied_nor_watched(tmp_path: Path) -> None:
    """A reference in S3 is read there by the in-cluster monitor: no COPY of a URI (which would
    break the build), no workflow trigger path made of one, and nothing in the checkout to
    fingerprint when retraining."""
    uris = {"data.train": "s3://team-data/train/", "data.test": "s3://team-data/test.parquet",
            "data.reference": "s3://team-data/train/", "data.current": REMOVE}
    write(prepare([write_spec(tmp_path / "mlops.yaml", changed(breast_cancer(), uris))]))
    text = dockerfile(tmp_path)
    assert "s3:" not in text and "COPY models/model.onnx /app/models/model.onnx\n" in text
    workflows = tmp_path / ".github" / "workflows"
    assert "s3:" not in (workflows / "mlops-breast-cancer-pr.yml").read_text()
    retrain = (workflows / "mlops-breast-cancer-retrain.yml").read_text()
    assert ": > reports/data.sha256  # the data is in object storage" in retrain
