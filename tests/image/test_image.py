"""The example's serving image, built and run for real: podman's Docker API, an offline build
(`--network none`, wheels from a wheelhouse made in a temp folder) from a context filtered by the
generated ignore file, and containers that run as they run in Kubernetes: read-only root file
system, UID 10001, writable volumes only where the server and the monitor write."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.image.podman import IGNORED_MIB, Built
from tests.serving.serve_helpers import free_port

pytestmark = pytest.mark.slow
MAX_IMAGE_MIB = 700
"""The local base is 237 MiB; the in-cluster monitor (the example shares its request log with the
CronJob) adds pyarrow's ~170 MiB to onnxruntime and numpy."""
RUN_AS = "10001:10001"


@pytest.fixture(scope="module")
def built(serving_image: Built) -> Built:
    """The session's breast-cancer image (tests/image/podman.py), which the scheduled batch
    scoring's test runs too."""
    return serving_image


@pytest.fixture(scope="module")
def client(built: Built) -> Iterator[Any]:
    import docker

    api = docker.DockerClient(base_url=built.docker_host, timeout=120)
    yield api
    api.close()


def _writable(folder: Path) -> Path:
    """A host folder the container's UID 10001 may write (a volume, as in the pod)."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o777)
    return folder


def _serve(client: Any, built: Built, log_dir: Path) -> tuple[Any, int]:
    """The server as the Deployment runs it: read-only root, UID 10001, /tmp and the request log
    folder the only writable places."""
    port = free_port()
    running = client.containers.run(
        built.reference, detach=True, network_mode="host", read_only=True, user=RUN_AS,
        tmpfs={"/tmp": "rw,mode=1777"},
        volumes={str(_writable(log_dir)): {"bind": "/var/log/mlops", "mode": "rw"}},
        environment={"MLOPS_HOST": "127.0.0.1", "MLOPS_PORT": str(port)})
    _wait_ready(port, running)
    return running, port


@pytest.fixture(scope="module")
def container(client: Any, built: Built, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[tuple[Any, int]]:
    running, port = _serve(client, built, tmp_path_factory.mktemp("served-log"))
    try:
        yield running, port
    finally:
        running.remove(force=True)


def _wait_ready(port: int, running: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=2):
                return
        except OSError:
            running.reload()
            assert running.status in ("created", "running"), running.logs().decode()[-3000:]
            time.sleep(0.5)
    raise AssertionError(f"not ready after {timeout}s:\n{running.logs().decode()[-3000:]}")


def _post(port: int, path: str, body: dict[str, Any],
          headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", json.dumps(body).encode(),
                                     {"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _test_rows(built: Built) -> list[dict[str, str]]:
    with (built.project / "data" / "test.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_image_is_small_and_its_context_leaves_out_the_rest(built: Built) -> None:
    print(f"\nimage {built.reference}: {built.size_bytes / 2**20:.1f} MiB; build context "
          f"{built.context_bytes} bytes ({built.wheelhouse_bytes} of them the wheelhouse) beside "
          f"a {IGNORED_MIB} MiB .venv")
    assert f"built {built.reference}" in built.output
    assert re.search(r"^image id: sha256:[0-9a-f]{64}$", built.output, re.MULTILINE)
    assert built.size_bytes < MAX_IMAGE_MIB * 2**20
    assert built.context_bytes - built.wheelhouse_bytes < 256 * 2**10  # the .venv stayed home


def test_container_serves_real_predictions_as_non_root(container: tuple[Any, int],
                                                       built: Built) -> None:
    running, port = container
    rows = _test_rows(built)[:5]
    instances = [{k: float(v) for k, v in row.items() if k != "label"} for row in rows]
    status, body = _post(port, "/predict", {"instances": instances})
    assert status == 200, body
    assert [p["label"] for p in body["predictions"]] == [
        ["malignant", "benign"][int(row["label"])] for row in rows]  # the example model is right
    status, body = _post(port, "/predict", {"instances": [{"mean_radius": "x"}]})
    assert status in (400, 422) and "error" in body
    code, uid = running.exec_run(["/opt/venv/bin/python", "-c",
                                  "import os; print(os.stat('/proc/1').st_uid, os.getuid())"])
    assert (code, uid.decode().split()) == (0, ["10001", "10001"])
    code, out = running.exec_run(["/opt/venv/bin/python", "-c", "open('/app/x', 'w')"])
    assert code != 0 and b"Read-only file system" in out  # the root file system is read-only


def test_the_image_is_labelled_and_its_server_names_the_model(container: tuple[Any, int],
                                                               built: Built) -> None:
    def sha256(relative: str) -> str:
        return "sha256:" + hashlib.sha256((built.project / relative).read_bytes()).hexdigest()

    printed = dict(re.findall(r"^  ([a-z.]+)=(.*)$", built.output, re.MULTILINE))
    model = sha256("models/model.onnx")
    assert {key: printed[key] for key in (
        "org.opencontainers.image.title", "org.opencontainers.image.revision",
        "org.opencontainers.image.version", "mlops.model.digest", "mlops.spec.digest",
        "mlops.data.digests")} == {
        "org.opencontainers.image.title": "breast-cancer",
        "org.opencontainers.image.revision": "",  # the project is not a git repository
        "org.opencontainers.image.version": model[7:19], "mlops.model.digest": model,
        "mlops.spec.digest": sha256("mlops.yaml"),
        "mlops.data.digests": f"data/train.csv={sha256('data/train.csv')} "
                              f"data/test.csv={sha256('data/test.csv')}"}
    _, port = container
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/live", timeout=10) as reply:
        assert (reply.headers["x-model-version"], reply.headers["x-model-digest"]) == (
            model[7:19], model)


def test_runtime_has_no_training_or_load_stack(container: tuple[Any, int]) -> None:
    running, _ = container
    code, found = running.exec_run(["/opt/venv/bin/python", "-c", (
        "import importlib.util as u; print([m for m in ('torch', 'sklearn', 'locust', 'pip', "
        "'pandas') if u.find_spec(m)])")])
    assert (code, found.decode().strip()) == (0, "[]")


def test_sigterm_stops_the_container_cleanly(client: Any, built: Built, tmp_path: Path) -> None:
    """A container of its own: stopping the module's would fail whichever tests a random order
    puts after this one."""
    running, port = _serve(client, built, tmp_path / "requests")
    try:
        row = _test_rows(built)[0]
        status, body = _post(port, "/predict", {"instances": [
            {k: float(v) for k, v in row.items() if k != "label"}]})
        assert status == 200, body
        running.stop(timeout=30)  # SIGTERM, then SIGKILL only after 30 s
        assert running.wait(timeout=40)["StatusCode"] == 0, running.logs().decode()[-3000:]
        logs = [json.loads(line) for line in running.logs().decode().splitlines()
                if line.startswith("{")]
    finally:
        running.remove(force=True)
    assert any(entry.get("event") == "access" and entry["path"] == "/predict" for entry in logs)


def _cronjob_container(built: Built) -> dict[str, Any]:
    cronjob = YAML(typ="safe").load(
        (built.project / "generated" / "k8s" / "base" / "cronjob.yaml").read_text())
    (monitor,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    return dict(monitor)


def test_the_cronjob_monitor_reads_its_reference_and_feedback_in_the_image(
        client: Any, built: Built, tmp_path: Path) -> None:
    """Traffic goes through the server into the request log volume; then the CronJob's own command
    runs in the image with the CronJob's mounts: the request log and the feedback claim read-only,
    the ConfigMap's monitor.yaml, /tmp. The reference data comes from the image itself."""
    served, port = _serve(client, built, tmp_path / "requests")
    rows = _test_rows(built)
    try:
        for index, row in enumerate(rows):
            features = {k: float(v) for k, v in row.items() if k != "label"}
            status, _ = _post(port, "/predict", {"instances": [features]},
                              {"X-Request-ID": f"row-{index}"})
            assert status == 200
    finally:
        served.stop(timeout=30)  # SIGTERM flushes the log
        served.remove(force=True)
    feedback = _writable(tmp_path / "feedback")
    with (feedback / "feedback.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["request_id", "label"])
        writer.writerows((f"row-{i}", ["malignant", "benign"][int(r["label"])])
                         for i, r in enumerate(rows))
    spec = _cronjob_container(built)
    mounts = {mount["name"]: mount["mountPath"] for mount in spec["volumeMounts"]}
    out = _writable(tmp_path / "tmp")
    config = built.project / "generated" / "k8s" / "base" / "monitor.yaml"  # the ConfigMap's file
    monitor = client.containers.run(
        built.reference, entrypoint=spec["command"], detach=True, network_mode="none",
        read_only=True, user=RUN_AS, volumes={
            str(out): {"bind": mounts["tmp"], "mode": "rw"},
            str(config): {"bind": f"{mounts['config']}/monitor.yaml", "mode": "ro"},
            str(tmp_path / "requests"): {"bind": mounts["request-log"], "mode": "ro"},
            str(feedback): {"bind": mounts["feedback"], "mode": "ro"}})
    try:
        code = monitor.wait(timeout=300)["StatusCode"]
        logs = monitor.logs().decode()
    finally:
        monitor.remove(force=True)
    assert code in (0, 1), logs  # 2 would mean it could not run
    report = json.loads((out / "monitor" / "report.json").read_text())
    checks = {check["name"]: check for gate in report["gates"] for check in gate["checks"]}
    assert report["kind"] == "monitor"
    assert checks["window"]["observed"] == len(rows), checks["window"]["message"]
    assert [c["name"] for c in checks.values() if c["status"] == "error"] == [], logs
    assert "reference" not in checks, logs  # an unreadable reference would be an error check here
    assert any(name.startswith("drift.") for name in checks)  # compared with the image's reference
    assert checks["feedback"]["status"] == "pass", checks["feedback"]
    performance = checks["performance.accuracy"]  # labels read from the feedback volume
    assert performance["status"] == "pass" and performance["observed"] > 0.9, performance
