"""Traffic routing of one environment: the router's route, the canary Service, the challenger.

With `rollout.traffic`, Argo Rollouts sets each canary step's weight on a router object the
overlay ships: an HTTPRoute (Gateway API, through the argoproj-labs gatewayAPI plugin), an Istio
VirtualService, or the NGINX stable Ingress. Each sends traffic to the stable Service (the base
Service) and the canary Service; Argo Rollouts pins both to their pods by pod-template hash.

A `serving.challenger` runs in every routed environment as a Deployment derived from the base
Deployment (the one hardened pod template, parsed back rather than written twice) with its own
labels, its own model (`mlops serve --variant challenger`) and resources. The route mirrors a
share of requests to it (shadow) or gives it a weighted share and a header match (ab). Like the
champion it has a PodDisruptionBudget and, where the environment autoscales, a
HorizontalPodAutoscaler, both derived from the champion's and sized to its share of the traffic.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from ruamel.yaml import YAML

from mlops.compiler import yaml_emit
from mlops.compiler.plan import GeneratedFile, RenderContext
from mlops.spec.kubernetes_names import DerivedNames
from mlops.spec.models import Challenger, Environment, Spec, Traffic

GATEWAY_PLUGIN = "argoproj-labs/gatewayAPI"
"""The name Argo Rollouts registers the Gateway API traffic router plugin under."""
ISTIO_ROUTE = "primary"
"""The VirtualService route whose two destinations Argo Rollouts weighs."""
CHALLENGER_COMPONENT = "challenger"
CHALLENGER_ARGS = ("--variant", "challenger")
"""Appended to the image's `mlops serve mlops.yaml`: serve serving.challenger.model, labelled so
its request log and metrics are told apart from the champion's."""
ROUTE_FILES = {"gateway_api": "httproute.yaml", "istio": "virtualservice.yaml",
               "nginx": "ingress.yaml"}
WEIGHT_TOTAL = 100
"""Argo Rollouts keeps the stable and canary weights summing to 100."""


def challenger_weight(percent: int) -> int:
    """The backendRef weight that gives the challenger `percent`% of the requests beside the
    stable and canary refs, whose weights the gatewayAPI plugin keeps at 100 together: w / (100
    + w) = percent / 100, rounded to the nearest whole weight."""
    return max(1, round(WEIGHT_TOTAL * percent / (WEIGHT_TOTAL - percent)))


@dataclass(frozen=True)
class Routing:
    """One routed environment's objects and the names they refer to each other by."""

    spec: Spec
    env: Environment
    traffic: Traffic

    @property
    def names(self) -> DerivedNames:
        return DerivedNames(self.spec)

    @property
    def challenger(self) -> Challenger | None:
        return self.spec.serving.challenger

    @property
    def route_file(self) -> str:
        return ROUTE_FILES[self.traffic.router]

    @property
    def files(self) -> list[str]:
        """The overlay's extra resources, in kustomization order."""
        files = ["canary-service.yaml", self.route_file]
        return [*files, "challenger.yaml"] if self.challenger is not None else files

    def challenger_share(self, replicas: int) -> int:
        """The challenger's share of a number of the champion's replicas, at least one pod: it
        gets (shadow: is mirrored) `percent`% of the requests."""
        if self.challenger is None:
            return 0
        return max(1, math.ceil(replicas * self.challenger.percent / 100))

    @property
    def challenger_replicas(self) -> int:
        """The challenger's share of the champion's replicas."""
        return self.challenger_share(self.env.replicas)

    def variables(self) -> dict[str, object]:
        challenger = self.challenger
        return {"traffic": self.traffic, "challenger": challenger,
                "challenger_weight": (challenger_weight(challenger.percent)
                                      if challenger is not None and challenger.mode == "ab"
                                      else None)}


def routing(spec: Spec, env: Environment) -> Routing | None:
    """The environment's routing, or None when its weights are replica counts."""
    traffic = env.rollout.traffic
    if env.rollout.strategy != "canary" or traffic is None:
        return None
    return Routing(spec, env, traffic)


def overlay_files(ctx: RenderContext, folder: PurePosixPath, route: Routing,
                  variables: Mapping[str, object], base: Mapping[str, str],
                  origin: tuple[str | int, ...]) -> Iterator[GeneratedFile]:
    """The router's route and the canary Service; with a challenger, its objects."""
    names = [("canary-service.yaml", origin), (route.route_file, (*origin, "rollout", "traffic"))]
    for filename, where in names:
        yield GeneratedFile(folder / filename,
                            ctx.render(f"kubernetes/overlay/{filename}.j2", **variables,
                                       **route.variables()),
                            where)
    if route.challenger is not None:
        autoscaler = (ctx.render("kubernetes/overlay/hpa.yaml.j2", **variables)
                      if route.env.autoscale is not None else None)
        yield GeneratedFile(folder / "challenger.yaml",
                            challenger_manifest(route, base, autoscaler),
                            ("serving", "challenger"))


def challenger_manifest(route: Routing, base: Mapping[str, str], autoscaler: str | None) -> str:
    """The challenger's Deployment, Service, NetworkPolicy and PodDisruptionBudget, derived from
    the base's own, and its HorizontalPodAutoscaler from the champion's (`autoscaler`, None where
    the environment does not autoscale)."""
    name = route.names.challenger
    deployment = _relabel(_first(base["deployment.yaml"]), name)
    if autoscaler is None:
        deployment["spec"]["replicas"] = route.challenger_replicas
    pod = deployment["spec"]["template"]["spec"]
    for constraint in pod.get("topologySpreadConstraints", []):
        _select(constraint["labelSelector"]["matchLabels"])
    (server,) = pod["containers"]
    server["args"] = list(CHALLENGER_ARGS)
    resources = route.env.resources
    server["resources"] = {
        "requests": {"cpu": resources.cpu, "memory": resources.memory},
        "limits": {"cpu": resources.cpu_limit or resources.cpu,
                   "memory": resources.memory_limit or resources.memory}}
    docs = [deployment, _relabel(_first(base["service.yaml"]), name),
            _relabel(_first(base["networkpolicy.yaml"]), name),
            _relabel(_first(base["pdb.yaml"]), name)]
    if autoscaler is not None:
        docs.append(_challenger_autoscaler(route, _relabel(_first(autoscaler), name)))
    header = ("# The challenger (serving.challenger): the server's pod template, network policy, "
              "disruption budget\n# and autoscaler with its own labels, model and share of the "
              "traffic. Derived from the\n# champion's; edit mlops.yaml, not this file.\n")
    return header + "---\n".join(yaml_emit.dump(doc) for doc in docs)


def _challenger_autoscaler(route: Routing, hpa: dict[str, Any]) -> dict[str, Any]:
    """The champion's autoscaler aimed at the challenger's Deployment, its bounds the
    challenger's share of the champion's (its CPU target and behaviour unchanged)."""
    spec = hpa["spec"]
    spec["scaleTargetRef"] = {"apiVersion": "apps/v1", "kind": "Deployment",
                              "name": route.names.challenger}
    spec["minReplicas"] = route.challenger_share(spec["minReplicas"])
    spec["maxReplicas"] = route.challenger_share(spec["maxReplicas"])
    return hpa


def _first(text: str) -> dict[str, Any]:
    doc = next(doc for doc in YAML(typ="safe", pure=True).load_all(text) if doc is not None)
    return copy.deepcopy(dict(doc))


def _select(labels: dict[str, str]) -> None:
    labels["app.kubernetes.io/component"] = CHALLENGER_COMPONENT


def _relabel(doc: dict[str, Any], name: str) -> dict[str, Any]:
    """`doc` renamed, and every label and selector of the server's pods made the challenger's."""
    doc["metadata"]["name"] = name
    _select(doc["metadata"]["labels"])
    spec = doc["spec"]
    for selector in (spec.get("selector"), spec.get("podSelector")):
        if isinstance(selector, dict):
            _select(selector.get("matchLabels", selector))
    template = spec.get("template")
    if template is not None:
        _select(template["metadata"]["labels"])
    return doc
