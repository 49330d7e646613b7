"""Traffic routers and the challenger: what a routed environment's overlay applies, once built.

Each case is the suite's breast-cancer spec with a router on its production (canary) environment
and, where the router can carry one, a challenger. The built overlays pass the same validators as
every other overlay (kubernetes-validate --strict, checkov, the naming and semantic checks), and
their custom resources match the CRD versions the README names and what Argo Rollouts' routers
require of them (tests/compiler/k8s_routes.py).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from mlops.compiler.targets.kubernetes_traffic import CHALLENGER_ARGS, challenger_weight
from mlops.spec.errors import SpecError
from mlops.spec.loader import LoadedSpec, validate_text
from tests.compiler.k8s_crds import is_custom
from tests.compiler.k8s_crds import problems as crd_problems
from tests.compiler.k8s_naming import problems as naming_problems
from tests.compiler.k8s_semantics import Doc, by_kind, one
from tests.compiler.k8s_semantics import problems as semantic_problems
from tests.compiler.k8s_support import CHECKOV, SPECS, documents, kustomize, render, run, tool, write_tree
from tests.specs import REMOVE, breast_cancer, changed, spec_yaml

PRODUCTION = "deploy.environments.1"
HOSTS = ["cancer.example.com"]
GATEWAY = {"router": "gateway_api", "hosts": HOSTS,
           "gateway": {"name": "public", "namespace": "gateways"}}
ISTIO = {"router": "istio", "hosts": HOSTS,
         "gateway": {"name": "public", "namespace": "istio-ingress"}}
NGINX = {"router": "nginx", "hosts": ["*.cancer.example.com"], "ingress_class": "nginx"}
AB = {"model": "models/challenger.onnx", "mode": "ab", "percent": 10, "header": "x-mlops-variant"}
SHADOW = {"model": "models/challenger.onnx", "mode": "shadow", "percent": 20}
CASES: dict[str, dict[str, Any]] = {
    "gateway-ab": {f"{PRODUCTION}.rollout.traffic": GATEWAY, "serving.challenger": AB},
    "gateway-shadow": {f"{PRODUCTION}.rollout.traffic": GATEWAY, "serving.challenger": SHADOW},
    "istio-shadow": {f"{PRODUCTION}.rollout.traffic": ISTIO, "serving.challenger": SHADOW},
    "istio-mesh": {f"{PRODUCTION}.rollout.traffic": {"router": "istio",
                                                     "hosts": ["breast-cancer"]}},
    "nginx": {f"{PRODUCTION}.rollout.traffic": NGINX},
}
KUBERNETES_VERSION = "1.32.0"


def spec_with(changes: Mapping[str, Any], name: str = "breast-cancer") -> LoadedSpec:
    """The breast-cancer spec with `changes`, validated in the root spec's place (no file checks:
    the challenger's model is not on disk, and these tests read no model)."""
    return validate_text(spec_yaml(changed(breast_cancer(), {"name": name, **changes})),
                         SPECS["root"], display="mlops.yaml", check_files=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Doc]]:
    """Each case's production overlay as `kubectl kustomize` builds it."""
    out = {}
    for case, changes in CASES.items():
        tree = write_tree(render(spec_with(changes)), tmp_path_factory.mktemp(case))
        out[case] = documents(kustomize(tree / "k8s" / "overlays" / "production"))
    return out


def _rollout_canary(docs: list[Doc]) -> Doc:
    return dict(one(docs, "Rollout")["spec"]["strategy"]["canary"])


@pytest.mark.parametrize("case", sorted(CASES))
def test_routed_overlays_pass_the_api_servers_and_controllers_checks(
        case: str, built: dict[str, list[Doc]]) -> None:
    docs = built[case]
    loaded = spec_with(CASES[case])
    production = loaded.spec.deploy.environments[1]
    assert naming_problems(docs) == []
    assert semantic_problems(docs, loaded.spec, production) == []
    route_kind = {"gateway": "HTTPRoute", "istio": "VirtualService", "nginx": "Ingress"}[
        case.split("-")[0]]
    assert len(by_kind(docs, route_kind)) == 1
    custom = [doc for doc in docs if is_custom(doc)]
    assert {doc["kind"] for doc in custom} >= {"Rollout"} | (
        {route_kind} if route_kind != "Ingress" else set())
    assert [problem for doc in custom for problem in crd_problems(doc, docs)] == []


def test_kubernetes_validate_accepts_the_routed_overlays(built: dict[str, list[Doc]]) -> None:
    manifests = "\n---\n".join(json.dumps(doc) for docs in built.values() for doc in docs
                               if not is_custom(doc))
    result = run([tool("kubernetes-validate"), "--strict", "-k", KUBERNETES_VERSION, "-"],
                 stdin=manifests)
    report = result.stdout + result.stderr
    assert result.returncode == 0 and "ERROR" not in report, report
    for kind in ("ingress", "service", "deployment", "networkpolicy"):
        assert f"passed for resource {kind}/" in report, kind


def test_each_router_carries_the_canary_weights(built: dict[str, list[Doc]]) -> None:
    stable, canary = "breast-cancer", "breast-cancer-canary"
    for case, docs in built.items():
        strategy = _rollout_canary(docs)
        assert (strategy["stableService"], strategy["canaryService"]) == (stable, canary), case
    gateway = _rollout_canary(built["gateway-ab"])["trafficRouting"]
    assert gateway == {"plugins": {"argoproj-labs/gatewayAPI": {"httpRoute": stable,
                                                                "namespace": "ml-prod"}}}
    istio = _rollout_canary(built["istio-shadow"])["trafficRouting"]
    assert istio == {"istio": {"virtualService": {"name": stable, "routes": ["primary"]}}}
    nginx = _rollout_canary(built["nginx"])["trafficRouting"]
    assert nginx == {"nginx": {"stableIngress": stable}}
    (ingress,) = by_kind(built["nginx"], "Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert [rule["host"] for rule in ingress["spec"]["rules"]] == ["*.cancer.example.com"]
    service = one(built["istio-mesh"], "VirtualService")["spec"]
    assert "gateways" not in service and service["hosts"] == ["breast-cancer"]


def test_an_ab_challenger_gets_its_share_and_the_header(built: dict[str, list[Doc]]) -> None:
    route = one(built["gateway-ab"], "HTTPRoute")["spec"]
    assert route["parentRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                    "name": "public", "namespace": "gateways"}]
    assert route["hostnames"] == HOSTS
    pinned, weighted = route["rules"]
    assert pinned["matches"] == [{"headers": [{"type": "Exact", "name": "x-mlops-variant",
                                               "value": "challenger"}]}]
    assert pinned["backendRefs"] == [{"name": "breast-cancer-challenger", "port": 80}]
    weights = {ref["name"]: ref["weight"] for ref in weighted["backendRefs"]}
    assert weights == {"breast-cancer": 100, "breast-cancer-canary": 0,
                       "breast-cancer-challenger": challenger_weight(10)}
    # The gatewayAPI plugin keeps stable + canary at 100 at every step: the share stays 10%.
    share = weights["breast-cancer-challenger"] / sum(weights.values())
    assert share == pytest.approx(0.10, abs=0.002)


@pytest.mark.parametrize("percent", [1, 10, 25, 50, 99])
def test_the_challenger_weight_gives_its_percent(percent: int) -> None:
    weight = challenger_weight(percent)
    assert weight / (100 + weight) == pytest.approx(percent / 100, abs=0.005)


def test_a_shadow_challenger_is_mirrored_a_percentage(built: dict[str, list[Doc]]) -> None:
    (rule,) = one(built["gateway-shadow"], "HTTPRoute")["spec"]["rules"]
    assert [ref["name"] for ref in rule["backendRefs"]] == ["breast-cancer", "breast-cancer-canary"]
    assert rule["filters"] == [{"type": "RequestMirror", "requestMirror": {
        "backendRef": {"name": "breast-cancer-challenger", "port": 80}, "percent": 20}}]
    (http,) = one(built["istio-shadow"], "VirtualService")["spec"]["http"]
    assert http["mirror"] == {"host": "breast-cancer-challenger", "port": {"number": 80}}
    assert http["mirrorPercentage"] == {"value": 20}
    assert [d["destination"]["host"] for d in http["route"]] == ["breast-cancer",
                                                                 "breast-cancer-canary"]


def test_the_challenger_runs_the_servers_pod_template(built: dict[str, list[Doc]]) -> None:
    """Derived from the base Deployment: only its name, labels, model flag, size and resources
    differ, so hardening added to the server reaches the challenger too."""
    docs = built["gateway-shadow"]
    champion = one(docs, "Deployment", "breast-cancer")
    challenger = one(docs, "Deployment", "breast-cancer-challenger")
    pod = challenger["spec"]["template"]
    assert pod["metadata"]["labels"]["app.kubernetes.io/component"] == "challenger"
    (server,) = pod["spec"]["containers"]
    assert server["args"] == list(CHALLENGER_ARGS)
    assert "replicas" not in challenger["spec"]  # production autoscales: its HPA owns them
    expected = copy.deepcopy(champion)
    expected["metadata"]["name"] = "breast-cancer-challenger"
    for labels in (expected["metadata"]["labels"], expected["spec"]["selector"]["matchLabels"],
                   expected["spec"]["template"]["metadata"]["labels"],
                   expected["spec"]["template"]["spec"]["topologySpreadConstraints"][0][
                       "labelSelector"]["matchLabels"]):
        labels["app.kubernetes.io/component"] = "challenger"
    del expected["spec"]["replicas"]
    (expected_server,) = expected["spec"]["template"]["spec"]["containers"]
    expected_server["args"] = list(CHALLENGER_ARGS)
    assert challenger == expected
    # Nothing of the champion's selects the challenger's pods, and its own policy does.
    labels = pod["metadata"]["labels"]
    for kind in ("Service", "NetworkPolicy", "PodDisruptionBudget"):
        doc = one(docs, kind, "breast-cancer")["spec"]
        selector = doc.get("selector", doc.get("podSelector"))
        selector = selector.get("matchLabels", selector)
        assert not all(labels.get(k) == v for k, v in selector.items()), kind
    policy = one(docs, "NetworkPolicy", "breast-cancer-challenger")["spec"]
    assert all(labels.get(k) == v for k, v in policy["podSelector"]["matchLabels"].items())
    service = one(docs, "Service", "breast-cancer-challenger")["spec"]
    assert all(labels.get(k) == v for k, v in service["selector"].items())


def test_the_challenger_has_the_champions_disruption_budget_and_autoscaler_at_its_share(
        built: dict[str, list[Doc]]) -> None:
    """A node drain takes challenger pods down one at a time, as the champion's; it autoscales
    on the same CPU target between its share (20%) of the champion's bounds (3..10)."""
    docs = built["gateway-shadow"]
    budgets = {d["metadata"]["name"]: d["spec"] for d in by_kind(docs, "PodDisruptionBudget")}
    champion, challenger = budgets["breast-cancer"], budgets["breast-cancer-challenger"]
    assert challenger["maxUnavailable"] == champion["maxUnavailable"] == 1
    assert challenger["selector"]["matchLabels"] == {
        **champion["selector"]["matchLabels"], "app.kubernetes.io/component": "challenger"}
    autoscalers = {d["metadata"]["name"]: d["spec"] for d in by_kind(docs, "HorizontalPodAutoscaler")}
    assert autoscalers["breast-cancer-challenger"] == {
        **autoscalers["breast-cancer"], "minReplicas": 1, "maxReplicas": 2,
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                           "name": "breast-cancer-challenger"}}


def test_a_challenger_without_autoscaling_keeps_its_replica_share(tmp_path: Path) -> None:
    changes = {**CASES["gateway-ab"], f"{PRODUCTION}.autoscale": REMOVE, f"{PRODUCTION}.replicas": 4}
    loaded = spec_with(changes)
    tree = write_tree(render(loaded), tmp_path)
    docs = documents(kustomize(tree / "k8s" / "overlays" / "production"))
    assert one(docs, "Deployment", "breast-cancer-challenger")["spec"]["replicas"] == 1  # 10% of 4
    assert not by_kind(docs, "HorizontalPodAutoscaler")
    one(docs, "PodDisruptionBudget", "breast-cancer-challenger")
    assert semantic_problems(docs, loaded.spec, loaded.spec.deploy.environments[1]) == []


def test_a_challenger_of_a_model_at_its_longest_name_passes_the_naming_rules(
        tmp_path: Path) -> None:
    name = "customer-lifetime-value-forecast-model-v"  # 40 characters, the spec's limit
    loaded = spec_with(CASES["gateway-shadow"], name=name)
    tree = write_tree(render(loaded), tmp_path)
    docs = documents(kustomize(tree / "k8s" / "overlays" / "production"))
    assert {d["kind"] for d in docs if d["metadata"]["name"] == f"{name}-challenger"} == {
        "Deployment", "Service", "NetworkPolicy", "PodDisruptionBudget", "HorizontalPodAutoscaler"}
    assert naming_problems(docs) == []
    assert semantic_problems(docs, loaded.spec, loaded.spec.deploy.environments[1]) == []


def test_environments_without_a_router_keep_the_replica_fallback(
        tmp_path: Path) -> None:
    files = render(spec_with(CASES["gateway-ab"]))
    staging = [path.name for path in files if "overlays/staging" in str(path)]
    assert not {"httproute.yaml", "challenger.yaml", "virtualservice.yaml"} & set(staging)
    tree = write_tree(files, tmp_path)
    docs = documents(kustomize(tree / "k8s" / "overlays" / "staging"))
    assert not by_kind(docs, "HTTPRoute") and not by_kind(docs, "Rollout")
    assert [doc["metadata"]["name"] for doc in by_kind(docs, "Deployment")] == ["breast-cancer"]


def test_routing_is_byte_stable() -> None:
    first, second = (render(spec_with(CASES["gateway-ab"])) for _ in range(2))
    assert {p: f.content for p, f in first.items()} == {p: f.content for p, f in second.items()}


def test_long_names_are_shortened_and_still_valid(tmp_path: Path) -> None:
    name = "m" * 40  # the longest model name: "-challenger" takes it past 63 with the instance
    loaded = spec_with({**CASES["gateway-ab"], "serving.request_log.claim": "requests"}, name)
    tree = write_tree(render(loaded), tmp_path)
    docs = documents(kustomize(tree / "k8s" / "overlays" / "production"))
    assert naming_problems(docs) == []
    names = {doc["metadata"]["name"] for doc in docs}
    assert {f"{name}-canary", f"{name}-challenger"} <= names
    assert [problem for doc in docs if is_custom(doc) for problem in crd_problems(doc, docs)] == []


def _broken(docs: list[Doc], kind: str) -> tuple[list[Doc], Doc]:
    docs = copy.deepcopy(docs)
    return docs, one(docs, kind)


def test_the_route_checks_catch_broken_routes(built: dict[str, list[Doc]]) -> None:
    """Each controller rule of k8s_routes / k8s_crds reports a deliberately broken object."""
    docs, route = _broken(built["gateway-shadow"], "HTTPRoute")
    route["spec"]["rules"][0]["filters"][0]["requestMirror"]["percent"] = 150
    route["spec"]["rules"][0]["backendRefs"].pop()
    found = crd_problems(route, docs) + crd_problems(one(docs, "Rollout"), docs)
    assert any("150 is above the maximum 100" in p for p in found), found
    assert any("no HTTPRoute rule has both the stable and canary" in p for p in found), found

    docs, service = _broken(built["istio-shadow"], "VirtualService")
    service["spec"]["http"][0]["route"].append(copy.deepcopy(service["spec"]["http"][0]["route"][0]))
    service["spec"]["http"][0]["mirrorPercentage"] = {"value": "20"}
    found = crd_problems(service, docs) + crd_problems(one(docs, "Rollout"), docs)
    assert any("exactly the stable and canary destinations" in p for p in found), found
    assert any("expected a number" in p for p in found), found

    docs, rollout = _broken(built["gateway-ab"], "Rollout")
    plugin = rollout["spec"]["strategy"]["canary"]["trafficRouting"]["plugins"]
    plugin["argoproj-labs/gatewayAPI"] = {"httpRoute": "breast-cancer", "namespace": "default",
                                          "route": "x"}
    rollout["spec"]["strategy"]["canary"]["canaryService"] = "missing"
    found = crd_problems(rollout, docs)
    assert any("settings ['route']" in p for p in found), found
    assert any("namespace 'default'" in p for p in found), found
    assert any("Service 'missing' is not applied" in p for p in found), found

    docs, rollout = _broken(built["nginx"], "Rollout")
    rollout["spec"]["strategy"]["canary"]["trafficRouting"]["nginx"]["stableIngresses"] = ["x"]
    assert any("stableIngresses: unknown field" in p for p in crd_problems(rollout, docs))


def _errors(changes: Mapping[str, Any]) -> list[str]:
    """The messages, each checked to be located (its line is the spec's own layout)."""
    with pytest.raises(SpecError) as raised:
        spec_with(changes)
    lines = str(raised.value).splitlines()
    located = [re.fullmatch(r"mlops\.yaml:\d+:\d+: (.*)", line) for line in lines]
    assert all(located), lines
    return [match.group(1) for match in located if match]


def test_a_challenger_needs_a_router_that_can_carry_it() -> None:
    assert _errors({"serving.challenger": SHADOW}) == [
        "serving.challenger: a challenger runs where a traffic router can "
        "mirror or split requests: give an environment with strategy: canary a rollout.traffic "
        "router (gateway_api or istio)"]
    assert _errors({f"{PRODUCTION}.rollout.traffic": NGINX, "serving.challenger": SHADOW}) == [
        "deploy.environments[1].rollout.traffic.router: NGINX cannot route "
        "serving.challenger (shadow): its mirror-target annotation copies every request (no "
        "percentage), and Argo Rollouts already uses the one canary Ingress NGINX allows per "
        "host; use gateway_api or istio"]
    assert _errors({f"{PRODUCTION}.rollout.traffic": ISTIO, "serving.challenger": AB}) == [
        "deploy.environments[1].rollout.traffic.router: Istio cannot split "
        "serving.challenger (ab) by weight: Argo Rollouts manages a VirtualService route of "
        "exactly two destinations (stable and canary); use gateway_api, or mode: shadow"]


@pytest.mark.slow
def test_checkov_finds_no_failed_check_in_the_routed_overlays(
        built: dict[str, list[Doc]], tmp_path: Path) -> None:
    for case, docs in built.items():
        (tmp_path / f"{case}.yaml").write_text("\n---\n".join(json.dumps(d) for d in docs),
                                               encoding="utf-8")
    result = run([tool("checkov", CHECKOV), "--framework", "kubernetes", "--skip-download",
                  "--compact", "--output", "json", "--directory", str(tmp_path)], timeout=600)
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    report = report[0] if isinstance(report, list) else report
    results = report["results"]
    failed = [(c["check_id"], c["resource"], c["file_path"]) for c in results["failed_checks"]]
    assert failed == []
    scanned = {c["resource"].split(".")[0] for c in results["passed_checks"]}
    assert {"Deployment", "Service", "Ingress"} <= scanned
    assert {c["check_id"] for c in results["skipped_checks"]} <= {"CKV_K8S_43"}


def test_the_canary_analysis_reads_the_champions_metrics_only(
        built: dict[str, list[Doc]]) -> None:
    """An ab challenger answers users under the same model name: its errors and latency must
    not abort (or pass) the champion's canary."""
    metrics = one(built["gateway-ab"], "AnalysisTemplate")["spec"]["metrics"]
    queries = [m["provider"]["prometheus"]["query"] for m in metrics if "prometheus" in m["provider"]]
    assert len(queries) == 2
    for query in queries:
        model = 'model="breast-cancer"'
        assert query.count(model) == query.count(f'{model},variant="champion"') > 0, query
