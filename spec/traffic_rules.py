"""Rules for traffic routers (`rollout.traffic`) and where a challenger can be routed.

A router only means something to a canary (Argo Rollouts sets its weights there), each router
needs the objects it attaches to, and a challenger needs a router that can mirror a share of the
requests (shadow) or split them by weight (ab) next to the canary's own split. `kubernetes_rules`
runs these with the other deploy rules.
"""

from __future__ import annotations

from collections.abc import Iterator

from .models import Spec
from .yaml_source import KeyPath

Finding = tuple[KeyPath, str]
ROUTER_FIELDS = {"gateway_api": ("gateway",), "istio": ("gateway",), "nginx": ("ingress_class",)}
"""The optional fields each router reads; any other is a mistake, not a setting."""


def findings(spec: Spec) -> Iterator[Finding]:
    yield from _routers(spec)
    yield from _challenger(spec)


def _routers(spec: Spec) -> Iterator[Finding]:
    for index, env in enumerate(spec.deploy.environments):
        traffic = env.rollout.traffic
        if traffic is None:
            continue
        where: KeyPath = ("deploy", "environments", index, "rollout", "traffic")
        if env.rollout.strategy != "canary":
            yield where, ("a traffic router sets a canary's step weights; this environment rolls "
                          "out with strategy: rolling (set strategy: canary, or remove traffic)")
            continue
        if traffic.router == "gateway_api" and traffic.gateway is None:
            yield where, ("router gateway_api needs gateway: {name, namespace} of the Gateway the "
                          "HTTPRoute attaches to")
        if traffic.router == "nginx" and traffic.ingress_class is None:
            yield where, ("router nginx needs ingress_class: the IngressClass of the NGINX "
                          "ingress controller")
        for field in ("gateway", "ingress_class"):
            if field in traffic.model_fields_set and field not in ROUTER_FIELDS[traffic.router]:
                yield (*where, field), f"router {traffic.router} has no {field}"


def _challenger(spec: Spec) -> Iterator[Finding]:
    """Where the challenger runs: every environment with a router; it needs at least one."""
    challenger = spec.serving.challenger
    if challenger is None:
        return
    routed = [(index, env) for index, env in enumerate(spec.deploy.environments)
              if env.rollout.strategy == "canary" and env.rollout.traffic is not None]
    if not routed:
        yield ("serving", "challenger"), (
            "a challenger runs where a traffic router can mirror or split requests: give an "
            "environment with strategy: canary a rollout.traffic router (gateway_api or istio)")
    for index, env in routed:
        assert env.rollout.traffic is not None
        where: KeyPath = ("deploy", "environments", index, "rollout", "traffic", "router")
        router = env.rollout.traffic.router
        if router == "nginx":
            yield where, (
                f"NGINX cannot route serving.challenger ({challenger.mode}): its mirror-target "
                "annotation copies every request (no percentage), and Argo Rollouts already uses "
                "the one canary Ingress NGINX allows per host; use gateway_api or istio")
        elif router == "istio" and challenger.mode == "ab":
            yield where, (
                "Istio cannot split serving.challenger (ab) by weight: Argo Rollouts manages a "
                "VirtualService route of exactly two destinations (stable and canary); use "
                "gateway_api, or mode: shadow")
