"""Batch scoring on a schedule (`batch.schedule`): what the cluster receives, judged by kustomize,
kubernetes-validate, checkov, the KubeRay CRD subset and hadolint; the names a long model name
gives; the located errors of a schedule that cannot run in a pod.

The commands these objects run are run for real in tests/harness/batch/test_scheduled_batch_run.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlops.compiler.headers import with_header
from mlops.compiler.targets import docker
from mlops.compiler.targets.kubernetes_batch import RAYCRONJOB_NAME_MAX, health_command
from mlops.spec.errors import SpecError
from mlops.spec.kubernetes_names import CRONJOB_NAME_MAX
from mlops.spec.loader import load_spec
from tests.compiler.k8s_crds import is_custom
from tests.compiler.k8s_crds import problems as crd_problems
from tests.compiler.k8s_support import (
    CHECKOV,
    OUTPUT,
    context,
    documents,
    kustomize,
    render,
    run,
    tool,
    write_tree,
)
from tests.spec.test_install_and_paths import errors, with_changes
from tests.specs import breast_cancer, changed, location, write_spec

BATCH = {"input": "s3://team-data/scoring/", "output": "s3://team-data/predictions/",
         "schedule": "30 2 * * *", "secret": "team-bucket"}
RAY = {**BATCH, "engine": "ray", "workers": 3}
KUBERNETES_VERSION = "1.32.0"
DIGEST = "sha256:" + "ab" * 32
"""What `mlops compile --promote production=DIGEST` pinned: the batch job must run it too."""


def _spec(folder: Path, batch: dict[str, Any], name: str = "breast-cancer") -> Path:
    return write_spec(folder / "mlops.yaml", changed(breast_cancer(), {"name": name,
                                                                       "batch": batch}))


def _tree(folder: Path, batch: dict[str, Any], name: str = "breast-cancer") -> Path:
    """generated/ of the suite's spec with `batch`, written as `mlops compile` writes it after
    a release promoted DIGEST to production."""
    loaded = load_spec(_spec(folder, batch, name), check_files=False)
    return write_tree(render(loaded, {"production": DIGEST}), folder)


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {label: _tree(tmp_path_factory.mktemp(label), batch)
            for label, batch in (("local", BATCH), ("ray", RAY))}


@pytest.fixture(scope="module")
def production(trees: dict[str, Path]) -> dict[str, list[dict[str, Any]]]:
    """What Argo CD applies to production, per engine."""
    return {label: documents(kustomize(tree / "k8s" / "overlays" / "production"))
            for label, tree in trees.items()}


def _one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [doc for doc in docs if doc["kind"] == kind and "batch" in doc["metadata"]["name"]]
    assert len(found) == 1, [doc["kind"] for doc in docs]
    return found[0]


def _served_image(docs: list[dict[str, Any]]) -> str:
    deployment = next(doc for doc in docs if doc["kind"] == "Deployment")
    return str(deployment["spec"]["template"]["spec"]["containers"][0]["image"])


def _hardened(pod: dict[str, Any], secret: str | None) -> None:
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in pod["containers"]:
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert set(container["resources"]["limits"]) == {"cpu", "memory"}
        assert container.get("envFrom") == ([{"secretRef": {"name": secret}}] if secret else None)
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]


def test_the_local_engine_runs_a_cronjob_in_the_last_environment(
        trees: dict[str, Path], production: dict[str, list[dict[str, Any]]]) -> None:
    docs = production["local"]
    cronjob = _one(docs, "CronJob")
    assert cronjob["metadata"]["namespace"] == "ml-prod"
    spec = cronjob["spec"]
    assert (spec["schedule"], spec["timeZone"], spec["concurrencyPolicy"]) == (
        "30 2 * * *", "Etc/UTC", "Forbid")
    job = spec["jobTemplate"]["spec"]
    assert (job["backoffLimit"], job["activeDeadlineSeconds"]) == (1, 3600)
    pod = job["template"]["spec"]
    _hardened(pod, "team-bucket")
    [container] = pod["containers"]
    assert container["image"] == _served_image(docs) == f"ghcr.io/acme/breast-cancer@{DIGEST}"
    assert container["command"] == [
        "mlops", "predict", "/app/mlops.yaml", "--engine", "local",
        "--output", "s3://team-data/predictions/$(MLOPS_BATCH_RUN)"]
    assert container["env"] == [{"name": "MLOPS_BATCH_RUN", "valueFrom": {"fieldRef": {
        "fieldPath": "metadata.labels['batch.kubernetes.io/job-name']"}}}]
    assert container["resources"] == {"requests": {"cpu": "1", "memory": "2Gi"},
                                      "limits": {"cpu": "1", "memory": "2Gi"}}
    policy = _one(docs, "NetworkPolicy")
    assert policy["spec"]["ingress"] == []
    assert [rule["ports"] for rule in policy["spec"]["egress"]] == [
        [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        [{"protocol": "TCP", "port": 443}]]
    assert policy["spec"]["podSelector"]["matchLabels"] == pod_labels(cronjob)
    account = _one(docs, "ServiceAccount")
    assert account["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == account["metadata"]["name"]
    staging = kustomize(trees["local"] / "k8s" / "overlays" / "staging")
    assert "breast-cancer-batch" not in staging


def pod_labels(cronjob: dict[str, Any]) -> dict[str, str]:
    labels = cronjob["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    return {key: labels[key] for key in ("app.kubernetes.io/name", "app.kubernetes.io/component")}


def test_batch_environment_chooses_where_it_runs(tmp_path: Path) -> None:
    tree = _tree(tmp_path, {**BATCH, "environment": "staging"})
    staging = documents(kustomize(tree / "k8s" / "overlays" / "staging"))
    assert _one(staging, "CronJob")["metadata"]["namespace"] == "ml-staging"
    assert "breast-cancer-batch" not in kustomize(tree / "k8s" / "overlays" / "production")


def test_the_ray_engine_runs_a_raycronjob_of_the_same_image_and_security(
        production: dict[str, list[dict[str, Any]]]) -> None:
    docs = production["ray"]
    cron = _one(docs, "RayCronJob")
    assert crd_problems(cron, docs) == []
    assert cron["metadata"]["namespace"] == "ml-prod"
    assert cron["spec"]["schedule"] == "30 2 * * *"
    job = cron["spec"]["jobTemplate"]
    assert job["entrypoint"] == ("mlops predict /app/mlops.yaml --engine ray --address auto "
                                 "--output s3://team-data/predictions/$(date -u +%Y%m%dT%H%M%SZ)")
    assert (job["shutdownAfterJobFinishes"], job["backoffLimit"], job["activeDeadlineSeconds"]) == (
        True, 0, 3600)
    cluster = job["rayClusterSpec"]
    [workers] = cluster["workerGroupSpecs"]
    assert (workers["replicas"], workers["minReplicas"], workers["maxReplicas"]) == (3, 3, 3)
    pods = [cluster["headGroupSpec"]["template"], workers["template"], job["submitterPodTemplate"]]
    image = _served_image(docs)
    assert image == f"ghcr.io/acme/breast-cancer@{DIGEST}"
    for template in pods:
        _hardened(template["spec"], "team-bucket")
        assert template["spec"]["containers"][0]["image"] == image
        assert template["metadata"]["labels"]["app.kubernetes.io/component"] == "batch"
    policy = _one(docs, "NetworkPolicy")
    assert policy["spec"]["egress"][-1] == {"to": [{"podSelector": policy["spec"]["podSelector"]}]}


def test_kubernetes_validate_and_checkov_accept_both(trees: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    for label, tree in trees.items():
        manifests = kustomize(tree / "k8s" / "overlays" / "production")
        result = run([tool("kubernetes-validate"), "--strict", "-k", KUBERNETES_VERSION, "-"],
                     stdin=manifests)
        assert result.returncode == 0, result.stdout + result.stderr
        report = result.stdout + result.stderr
        if label == "local":
            assert "passed for resource cronjob/breast-cancer-batch" in report, report
        assert "passed for resource networkpolicy/breast-cancer-batch" in report, report
        (folder / f"{label}.yaml").write_text(manifests, encoding="utf-8")
    result = run([tool("checkov", CHECKOV), "--framework", "kubernetes", "--skip-download",
                  "--compact", "--quiet", "--directory", str(folder)], timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def test_custom_resources_of_the_ray_tree_match_their_crds(
        production: dict[str, list[dict[str, Any]]]) -> None:
    docs = production["ray"]
    assert [problem for doc in docs if is_custom(doc) for problem in crd_problems(doc, docs)] == []


def test_long_names_fit_and_compiles_are_byte_stable(tmp_path: Path) -> None:
    name = "a-model-name-of-exactly-forty-characters"
    assert len(name) == 40
    for label, batch in (("local", BATCH), ("ray", RAY)):
        loaded = load_spec(_spec(tmp_path / label, batch, name), check_files=False)
        first, second = render(loaded), render(loaded)
        assert {path: file.content for path, file in first.items()} == {
            path: file.content for path, file in second.items()}
        workload = "cronjob.yaml" if label == "local" else "raycronjob.yaml"
        [doc] = documents(first[OUTPUT / "k8s" / "batch" / workload].content)
        limit = CRONJOB_NAME_MAX if label == "local" else RAYCRONJOB_NAME_MAX
        assert len(doc["metadata"]["name"]) <= limit, doc["metadata"]["name"]
        assert doc["metadata"]["name"].startswith("a-model-name")
        write_tree(first, tmp_path / label)
        kustomize(tmp_path / label / "generated" / "k8s" / "overlays" / "production")


def test_no_schedule_no_objects_and_a_lean_image(tmp_path: Path) -> None:
    loaded = load_spec(_spec(tmp_path, {"input": "data/current.csv", "output": "out/"}),
                       check_files=False)
    assert not [path for path in render(loaded) if "batch" in path.parts]
    [dockerfile, _] = docker.TARGET.render(context(loaded))
    assert "ray" not in dockerfile.content and "ln -s" not in dockerfile.content


@pytest.mark.parametrize(("batch", "extras", "links"), [
    (BATCH, "serve,monitor", False),
    (RAY, "serve,monitor,ray", True),
])
def test_the_image_carries_the_data_stack_only_for_a_schedule(
        tmp_path: Path, batch: dict[str, Any], extras: str, links: bool) -> None:
    loaded = load_spec(_spec(tmp_path, batch), check_files=False)
    [dockerfile, _] = docker.TARGET.render(context(loaded))
    assert f"mlops-yaml[{extras}]" in dockerfile.content
    assert ("RUN ln -s /opt/venv/bin/mlops /opt/venv/bin/ray /usr/local/bin/"
            in dockerfile.content) is links
    path = tmp_path / "Dockerfile"
    path.write_text(with_header(dockerfile, Path("mlops.yaml")).content, encoding="utf-8")
    result = run([tool("hadolint"), "--failure-threshold", "warning", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_scheduled_run_on_local_paths_is_located() -> None:
    text = with_changes({"batch": {"input": "data/current.csv", "output": "s3://b/out/",
                                   "schedule": "0 3 * * *"}})
    assert errors(text) == [
        f"mlops.yaml:{location(text, 'batch.schedule')}: batch.schedule: a scheduled run reads "
        "and writes object storage (s3://, gs://, abfs://), but input 'data/current.csv' is a "
        "local path"]
    text = with_changes({"batch": {"input": "data/", "output": "out/", "schedule": "0 3 * * *"}})
    assert errors(text)[0].endswith("but input 'data/' and output 'out/' are local paths")


def test_a_bad_schedule_and_deadline_are_located() -> None:
    text = with_changes({"batch": {**BATCH, "schedule": "every night", "deadline": "30s"}})
    found = errors(text)
    assert found[0].startswith(f"mlops.yaml:{location(text, 'batch.schedule')}: batch.schedule: ")
    assert found[1] == (f"mlops.yaml:{location(text, 'batch.deadline')}: batch.deadline: "
                        "expected a number at least 60.0, got 30.0")


def test_an_unknown_environment_is_located(tmp_path: Path) -> None:
    path = _spec(tmp_path, {**BATCH, "environment": "prod"})
    with pytest.raises(SpecError) as raised:
        load_spec(path, check_files=False)
    line = location(path.read_text(), "batch.environment")
    assert str(raised.value) == (f"{path}:{line}: batch.environment: no environment 'prod' in "
                                 "deploy.environments (staging, production)")


def test_mlops_compile_reports_it_without_a_traceback(tmp_path: Path) -> None:
    path = _spec(tmp_path, {**BATCH, "environment": "prod"})
    done = subprocess.run([sys.executable, "-m", "mlops", "compile", str(path)],
                          capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "batch.environment: no environment 'prod' in deploy.environments" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "generated").exists()


def test_the_ray_probe_passes_only_when_every_endpoint_says_success() -> None:
    """The probe's own logic, against a local HTTP server standing in for Ray's endpoints."""
    import http.server
    import threading

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"success" if self.path.endswith("/ok") else b"GCS is down"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        for urls, code in (((f"{base}/ok", f"{base}/ok"), 0), ((f"{base}/ok", f"{base}/down"), 1)):
            command = health_command(*urls)
            done = subprocess.run([sys.executable, *command[1:]], capture_output=True, check=False)
            assert done.returncode == code, done.stderr
    finally:
        server.shutdown()
        server.server_close()


def test_an_output_the_ray_entrypoints_shell_would_read_is_located(tmp_path: Path) -> None:
    path = _spec(tmp_path, {**RAY, "output": "s3://team-data/predictions;day/"})
    with pytest.raises(SpecError) as raised:
        render(load_spec(path, check_files=False))
    line = location(path.read_text(), "batch.output")
    assert str(raised.value) == (
        f"{path}:{line}: batch.output: 's3://team-data/predictions;day/' has characters a shell "
        "would read (the Ray job's entrypoint is a shell command line): use letters, digits and "
        "_ @ % + = : , . / - only")
