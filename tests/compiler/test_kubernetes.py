"""The Kubernetes target: which files it writes for which spec, and what the overlays mean once built.

Semantic checks run on `kubectl kustomize` output, i.e. exactly what a GitOps controller applies.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from mlops.compiler.targets.kubernetes import (
    DEFAULT_CANARY_ERROR_RATE,
    DEFAULT_CANARY_P95_MS,
    IMAGE_TAG_PLACEHOLDER,
    canary_checks,
    pushgateway_port,
)
from mlops.core import telemetry
from mlops.spec.loader import LoadedSpec, validate_text
from tests.compiler.k8s_semantics import Doc, one, problems
from tests.compiler.k8s_support import (
    SPEC_NAMES,
    SPECS,
    documents,
    kustomize,
    load,
    parse,
    render,
    write_tree,
)
from tests.specs import REMOVE, breast_cancer, changed, spec_yaml

K8S = PurePosixPath("generated/k8s")
DIGEST = "sha256:" + "ab" * 32
DECLARED = {metric.name for metric in (*telemetry.SERVER_METRICS, *telemetry.MONITOR_METRICS)}


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_files_follow_the_spec(name: str) -> None:
    spec = load(name).spec
    paths = set(render(load(name)))
    expected = {K8S / "base" / f for f in ("kustomization.yaml", "serviceaccount.yaml",
                                          "deployment.yaml", "service.yaml", "pdb.yaml",
                                          "networkpolicy.yaml")}
    log = spec.serving.request_log
    if log is not None and log.claim is not None:  # the CronJob can read the request log
        expected |= {K8S / "base" / "cronjob.yaml", K8S / "base" / "monitor.yaml"}
    for env in spec.deploy.environments:
        overlay = K8S / "overlays" / env.name
        expected.add(overlay / "kustomization.yaml")
        if env.autoscale is not None:
            expected.add(overlay / "hpa.yaml")
        if env.rollout.strategy == "canary":
            expected |= {overlay / "rollout.yaml", overlay / "analysistemplate.yaml"}
        if spec.deploy.gitops != "none":
            expected.add(K8S / spec.deploy.gitops / f"{env.name}.yaml")
        if spec.load.cluster is not None:  # the in-cluster load test (kubernetes_load)
            expected |= {K8S / "load" / env.name / f
                         for f in ("kustomization.yaml", "service.yaml", "jobs.yaml")}
            if env.rollout.strategy == "canary" and env.rollout.traffic is None:
                expected.add(overlay / "canary-service.yaml")
            if (spec.deploy.gitops == "flux" and env is not spec.deploy.environments[-1]
                    and env.rollout.strategy != "canary"):
                expected.add(K8S / "flux" / f"{env.name}-load.yaml")
    if spec.load.cluster is not None:
        expected |= {K8S / "load" / "config" / f
                     for f in ("kustomization.yaml", "serviceaccount.yaml", "configmap.yaml",
                               "networkpolicy.yaml")}
    if spec.deploy.gitops == "flux":
        expected.add(K8S / "flux" / "gitrepository.yaml")
    assert {p for p in paths if p.is_relative_to(K8S)} == expected


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_rendering_is_byte_stable(name: str) -> None:
    first, second = render(load(name)), render(load(name))
    assert {p: f.content for p, f in first.items()} == {p: f.content for p, f in second.items()}
    assert all(file.origin for file in first.values())


def test_the_monitor_configmap_carries_the_monitoring_targets_config() -> None:
    files = render(load("root"))
    configmap_copy = files[K8S / "base" / "monitor.yaml"].content
    assert configmap_copy == files[PurePosixPath("generated/monitoring/monitor.yaml")].content


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_every_overlay_means_what_the_spec_says(name: str, tmp_path: Path) -> None:
    loaded = load(name)
    root = write_tree(render(loaded), tmp_path)
    for env in loaded.spec.deploy.environments:
        docs = documents(kustomize(root / "k8s" / "overlays" / env.name))
        assert problems(docs, loaded.spec, env) == [], env.name


@pytest.fixture(scope="module")
def staging_docs(tmp_path_factory: pytest.TempPathFactory) -> list[Doc]:
    """The root spec's staging overlay as built by kustomize (autoscaled, rolling)."""
    root = write_tree(render(load("root")), tmp_path_factory.mktemp("root"))
    return documents(kustomize(root / "k8s" / "overlays" / "staging"))


def _server(docs: list[Doc]) -> Doc:
    container: Doc = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    return container


BREAKAGES: dict[str, tuple[Callable[[list[Doc]], None], str]] = {
    "service selects nothing": (
        lambda d: one(d, "Service")["spec"]["selector"].update({"app.kubernetes.io/name": "x"}),
        "Service selector"),
    "wrong targetPort": (
        lambda d: one(d, "Service")["spec"]["ports"][0].update(targetPort=9999),
        "Service targetPort"),
    "HPA min above max": (
        lambda d: one(d, "HorizontalPodAutoscaler")["spec"].update(minReplicas=99),
        "minReplicas 99 > maxReplicas"),
    "HPA targets another workload": (
        lambda d: one(d, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"].update(name="x"),
        "HPA targets"),
    "probe on a path the server lacks": (
        lambda d: _server(d)["livenessProbe"]["httpGet"].update(path="/healthz"),
        "livenessProbe"),
    "no CPU request": (
        lambda d: _server(d)["resources"]["requests"].pop("cpu"), "CPU request"),
    "schedule differs": (
        lambda d: one(d, "CronJob")["spec"].update(schedule="5 * * * *"), "CronJob schedule"),
    "writable root": (
        lambda d: _server(d)["securityContext"].update(readOnlyRootFilesystem=False),
        "server container is not read-only"),
    "token mounted": (
        lambda d: one(d, "Deployment")["spec"]["template"]["spec"].update(
            automountServiceAccountToken=True), "server pod mounts a service account token"),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_semantic_checks_catch_broken_manifests(breakage: str, staging_docs: list[Doc]) -> None:
    loaded = load("root")
    mutate, expected = BREAKAGES[breakage]
    broken = copy.deepcopy(staging_docs)
    mutate(broken)
    found = problems(broken, loaded.spec, loaded.spec.deploy.environments[0])
    assert any(expected in problem for problem in found), found


def test_canary_runs_the_deployments_pod_template_through_a_rollout() -> None:
    files = render(load("canary-argocd"))
    overlay = K8S / "overlays" / "production"
    (rollout,) = parse(files[overlay / "rollout.yaml"])
    assert rollout["spec"]["workloadRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                              "name": "churn", "scaleDown": "never"}
    assert rollout["spec"]["strategy"]["canary"]["steps"] == [
        {"setWeight": 5}, {"pause": {"duration": "90s"}},
        {"setWeight": 25}, {"pause": {"duration": "90s"}},
        {"setWeight": 50}, {"pause": {"duration": "90s"}},
    ]
    assert rollout["spec"]["replicas"] == 4
    assert K8S / "overlays" / "staging" / "rollout.yaml" not in files


def _analysis(name: str, env: str) -> dict[str, Doc]:
    (template,) = parse(render(load(name))[K8S / "overlays" / env / "analysistemplate.yaml"])
    return {metric["name"]: metric for metric in template["spec"]["metrics"]}


def test_canary_limits_come_from_the_monitors_when_set() -> None:
    metrics = _analysis("root", "production")
    assert metrics["error-rate"]["successCondition"] == "isNaN(result[0]) || result[0] <= 0.01"
    assert metrics["latency-p95"]["successCondition"] == "isNaN(result[0]) || result[0] <= 0.05"


def test_canary_limits_fall_back_to_the_load_slos() -> None:
    metrics = _analysis("canary-argocd", "production")
    assert metrics["error-rate"]["successCondition"] == "isNaN(result[0]) || result[0] <= 0.02"
    assert metrics["latency-p95"]["successCondition"] == "isNaN(result[0]) || result[0] < 0.08"


def test_canary_limits_have_defaults() -> None:
    spec = load("canary-argocd").spec
    bare = spec.model_copy(update={"load": spec.load.model_copy(
        update={"thresholds": spec.load.thresholds.model_copy(
            update={"p95_ms": None, "error_rate": None})})})
    errors, latency = canary_checks(bare, "1m")
    assert (errors.op, errors.limit) == ("<=", DEFAULT_CANARY_ERROR_RATE)
    assert (latency.op, latency.limit) == ("<=", DEFAULT_CANARY_P95_MS / 1000)


@pytest.mark.parametrize("name", ["root", "multiclass", "canary-argocd"])
def test_canary_queries_use_declared_metric_names(name: str) -> None:
    env = next(e for e in load(name).spec.deploy.environments if e.rollout.strategy == "canary")
    for metric in _analysis(name, env.name).values():
        if "prometheus" not in metric["provider"]:  # the load test's Job metric
            continue
        query = metric["provider"]["prometheus"]["query"]
        names = {re.sub(r"_bucket$", "", n) for n in re.findall(r"([a-z_:][a-z0-9_:]*)\{", query)}
        assert names and names <= DECLARED, query
        assert f'model="{load(name).spec.name}"' in query


def test_argocd_syncs_automatically_except_where_approval_is_required() -> None:
    files = render(load("canary-argocd"))
    (staging,) = parse(files[K8S / "argocd" / "staging.yaml"])
    (production,) = parse(files[K8S / "argocd" / "production.yaml"])
    assert staging["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert "automated" not in production["spec"]["syncPolicy"]
    assert staging["spec"]["source"] == {
        "repoURL": "https://github.com/example/churn.git", "targetRevision": "deploy",
        "path": "generated/k8s/overlays/staging"}
    assert production["spec"]["destination"]["namespace"] == "churn-prod"


def test_flux_applies_each_overlay_from_the_git_repository() -> None:
    files = render(load("flux"))
    (source,) = parse(files[K8S / "flux" / "gitrepository.yaml"])
    assert source["spec"]["url"] == "ssh://git@github.com/example/fraud-score.git"
    assert source["spec"]["ref"] == {"branch": "release"}
    namespace, kustomization = parse(files[K8S / "flux" / "prod.yaml"])
    assert namespace["metadata"] == {
        "name": "fraud", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}
    assert kustomization["spec"]["path"] == "./generated/k8s/overlays/prod"
    assert kustomization["spec"]["sourceRef"] == {"kind": "GitRepository", "name": "fraud-score"}
    assert kustomization["spec"]["prune"] is True


def test_no_gitops_objects_without_a_controller() -> None:
    assert not [p for p in render(load("regression")) if "argocd" in p.parts or "flux" in p.parts]


def test_a_promoted_digest_pins_the_overlay_image(tmp_path: Path) -> None:
    loaded = load("root")
    files = render(loaded, promoted={"production": DIGEST})
    (staging,) = parse(files[K8S / "overlays" / "staging" / "kustomization.yaml"])
    (production,) = parse(files[K8S / "overlays" / "production" / "kustomization.yaml"])
    assert staging["images"] == [{"name": loaded.spec.deploy.image,
                                  "newTag": IMAGE_TAG_PLACEHOLDER}]
    assert production["images"] == [{"name": loaded.spec.deploy.image, "digest": DIGEST}]
    docs = documents(kustomize(write_tree(files, tmp_path) / "k8s" / "overlays" / "production"))
    assert _server(docs)["image"] == f"{loaded.spec.deploy.image}@{DIGEST}"
    env = loaded.spec.deploy.environments[1]
    assert problems(docs, loaded.spec, env) == []


def test_monitor_egress_reaches_only_dns_and_the_pushgateway() -> None:
    assert pushgateway_port(None) is None
    assert pushgateway_port("http://pushgateway.monitoring.svc:9091") == 9091
    assert pushgateway_port("https://push.example.com") == 443
    docs = parse(render(load("multiclass"))[K8S / "base" / "networkpolicy.yaml"])
    monitor = one(docs, "NetworkPolicy", "iris-torch-monitor")["spec"]
    assert monitor["ingress"] == []
    assert sorted(p["port"] for rule in monitor["egress"] for p in rule["ports"]) == [53, 53, 443]
    server = one(docs, "NetworkPolicy", "iris-torch")["spec"]
    assert server["egress"] == []


def test_without_request_log_no_log_volume_is_mounted() -> None:
    loaded = load("flux")
    assert loaded.spec.serving.request_log is None
    (deployment,) = parse(render(loaded)[K8S / "base" / "deployment.yaml"])
    pod = deployment["spec"]["template"]["spec"]
    assert [v["name"] for v in pod["volumes"]] == ["tmp"]
    kustomization = render(loaded)[K8S / "base" / "kustomization.yaml"].content
    assert "MLOPS_REQUEST_LOG_DIR" not in kustomization


def _root_with(changes: Mapping[str, Any]) -> LoadedSpec:
    """The breast-cancer spec (`tests.specs`) with `changes`, validated in the root's place."""
    return validate_text(spec_yaml(changed(breast_cancer(), changes)), SPECS["root"],
                         display="mlops.yaml", check_files=False)


def _volumes(pod: Doc) -> dict[str, Doc]:
    return {volume["name"]: volume for volume in pod["volumes"]}


def test_a_request_log_claim_is_shared_with_the_monitor_job() -> None:
    files = render(load("root"))
    (deployment,) = parse(files[K8S / "base" / "deployment.yaml"])
    (cronjob,) = parse(files[K8S / "base" / "cronjob.yaml"])
    server_pod = deployment["spec"]["template"]["spec"]
    monitor_pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    claim = {"claimName": "breast-cancer-requests"}
    assert _volumes(server_pod)["request-log"]["persistentVolumeClaim"] == claim
    assert _volumes(monitor_pod)["request-log"]["persistentVolumeClaim"] == {**claim, "readOnly": True}
    (monitor,) = monitor_pod["containers"]
    assert {"name": "request-log", "mountPath": "/var/log/mlops", "readOnly": True} in (
        monitor["volumeMounts"])


def test_without_a_claim_the_request_log_is_pod_local_and_no_monitor_job_is_made() -> None:
    """No pod but the server's can read a pod-local log: a CronJob would fail every run."""
    files = render(_root_with({"serving.request_log.claim": REMOVE}))
    (deployment,) = parse(files[K8S / "base" / "deployment.yaml"])
    assert "emptyDir" in _volumes(deployment["spec"]["template"]["spec"])["request-log"]
    assert K8S / "base" / "cronjob.yaml" not in files
    assert K8S / "base" / "monitor.yaml" not in files
    policies = parse(files[K8S / "base" / "networkpolicy.yaml"])
    assert [p["metadata"]["name"] for p in policies] == ["breast-cancer"]
    base = files[K8S / "base" / "kustomization.yaml"].content
    assert "cronjob.yaml" not in base and "monitor-config" not in base
    assert "CronJob" not in files[K8S / "overlays" / "production" / "kustomization.yaml"].content


def test_the_canary_analysis_queries_the_configured_prometheus() -> None:
    loaded = _root_with({"monitors.prometheus_url": "http://prom.obs:9090"})
    docs = parse(render(loaded)[K8S / "overlays" / "production" / "analysistemplate.yaml"])
    addresses = {metric["provider"]["prometheus"]["address"] for metric in docs[0]["spec"]["metrics"]}
    assert addresses == {"http://prom.obs:9090"}
