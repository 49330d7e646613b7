"""serving.request_log.upload in the generated files: the monitor CronJob reads the bucket, so no
pod shares a volume; the server's log volume is an emptyDir sized for the upload buffer; both pods
may reach the object store; the image carries pyarrow (the monitor extra)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from mlops.compiler.install import image_extras, monitor_in_cluster
from mlops.harness.monitor import MonitorConfig
from mlops.spec.loader import LoadedSpec, validate_text
from tests.compiler.k8s_support import SPECS, kustomize, parse, render, run, tool, write_tree
from tests.specs import REMOVE, breast_cancer, changed, spec_yaml

K8S = PurePosixPath("generated/k8s")
PREFIX = "s3://acme-logs/breast-cancer"


def _uploading(**changes: Any) -> LoadedSpec:
    spec = changed(breast_cancer(), {"serving.request_log.claim": REMOVE,
                                     "serving.request_log.upload": PREFIX, **changes})
    return validate_text(spec_yaml(spec), SPECS["root"], display="mlops.yaml", check_files=False)


def test_the_monitor_job_reads_the_bucket_and_no_volume_is_shared() -> None:
    loaded = _uploading()
    assert monitor_in_cluster(loaded.spec)
    assert image_extras(loaded.spec) == ("serve", "monitor")
    files = render(loaded)
    (deployment,) = parse(files[K8S / "base" / "deployment.yaml"])
    (cronjob,) = parse(files[K8S / "base" / "cronjob.yaml"])
    server_pod = deployment["spec"]["template"]["spec"]
    monitor_pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    volumes = {volume["name"]: volume for volume in server_pod["volumes"]}
    assert volumes["request-log"] == {"name": "request-log", "emptyDir": {"sizeLimit": "640Mi"}}
    assert [volume["name"] for volume in monitor_pod["volumes"]] == ["tmp", "config", "feedback"]
    (monitor,) = monitor_pod["containers"]
    assert "request-log" not in {mount["name"] for mount in monitor["volumeMounts"]}
    assert "  upload: 's3://acme-logs/breast-cancer'\n" in files[K8S / "base" / "monitor.yaml"].content
    policies = {policy["metadata"]["name"]: policy["spec"]["egress"]
                for policy in parse(files[K8S / "base" / "networkpolicy.yaml"])}
    https = {"ports": [{"protocol": "TCP", "port": 443}]}
    assert https in policies["breast-cancer"] and https in policies["breast-cancer-monitor"]


def test_the_buffer_volume_grows_with_workers_and_settings() -> None:
    loaded = _uploading(**{"serving.workers": 2, "serving.request_log.buffer_mb": 100,
                           "serving.request_log.rotate_mb": 8})
    (deployment,) = parse(render(loaded)[K8S / "base" / "deployment.yaml"])
    volumes = {volume["name"]: volume for volume in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["request-log"]["emptyDir"] == {"sizeLimit": "280Mi"}


def test_kubernetes_validate_accepts_the_overlays(tmp_path: Path) -> None:
    tree = write_tree(render(_uploading()), tmp_path)
    for overlay in sorted((tree / "k8s" / "overlays").iterdir()):
        result = run([tool("kubernetes-validate"), "--strict", "-k", "1.32.0", "-"],
                     stdin=kustomize(overlay))
        report = result.stdout + result.stderr
        assert result.returncode == 0 and "ERROR" not in report, report
        assert "passed for resource cronjob/" in report, report


def test_the_monitor_job_config_reads_as_the_spec_does(tmp_path: Path) -> None:
    """The CronJob passes --config monitor.yaml; it must name the bucket the spec does."""
    loaded = _uploading()
    path = tmp_path / "monitor.yaml"
    path.write_text(render(loaded)[K8S / "base" / "monitor.yaml"].content)
    from_file = MonitorConfig.from_file(path, loaded)
    assert from_file == MonitorConfig.from_spec(loaded)
    assert from_file.log_dir == PREFIX
