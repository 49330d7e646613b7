"""What Argo Rollouts' traffic routers require of the objects a canary's Rollout names.

Written from the controllers' code, not from the compiler: Argo Rollouts' rollout validation
(stable and canary Services, both applied and different), its Istio reconciler (each managed route
has exactly the stable and canary destinations, argoproj/argo-rollouts#1364), its NGINX reconciler
(the stable Ingress routes to the stable Service) and the argoproj-labs gatewayAPI plugin (its
config keys, and the HTTPRoute holding the stable and canary backendRefs it reweighs).
`problems(rollout, docs)` returns one sentence per broken rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Doc = dict[str, Any]
GATEWAY_PLUGIN = "argoproj-labs/gatewayAPI"
GATEWAY_PLUGIN_KEYS = {"httpRoute", "httpRoutes", "grpcRoute", "grpcRoutes", "tcpRoute",
                       "tcpRoutes", "tlsRoute", "tlsRoutes", "namespace", "configMap",
                       "httpRouteSelector", "grpcRouteSelector", "tcpRouteSelector",
                       "tlsRouteSelector", "disableInProgressLabel", "inProgressLabelKey",
                       "inProgressLabelValue"}
"""GatewayAPITrafficRouting's JSON fields (pkg/plugin/types.go): the plugin ignores others."""


def named(docs: list[Doc], kind: str, name: str) -> Doc | None:
    found = [doc for doc in docs if doc["kind"] == kind and doc["metadata"]["name"] == name]
    return found[0] if len(found) == 1 else None


def problems(rollout: Doc, docs: list[Doc]) -> Iterator[str]:
    canary = rollout["spec"]["strategy"]["canary"]
    routing = canary.get("trafficRouting")
    if routing is None:
        return
    stable, canary_service = canary.get("stableService"), canary.get("canaryService")
    if not stable or not canary_service:
        yield "trafficRouting needs both stableService and canaryService"
        return
    if stable == canary_service:
        yield "stableService and canaryService must be different Services"
    for service in (stable, canary_service):
        if named(docs, "Service", service) is None:
            yield f"Service {service!r} is not applied with the Rollout"
    namespace = rollout["metadata"].get("namespace")
    if "plugins" in routing:
        yield from _gateway(routing["plugins"], stable, canary_service, namespace, docs)
    if "istio" in routing:
        yield from _istio(routing["istio"], stable, canary_service, docs)
    if "nginx" in routing:
        yield from _nginx(routing["nginx"], stable, docs)


def _gateway(plugins: Doc, stable: str, canary: str, namespace: str | None,
             docs: list[Doc]) -> Iterator[str]:
    config = plugins.get(GATEWAY_PLUGIN)
    if config is None:
        yield f"trafficRouting.plugins has no {GATEWAY_PLUGIN!r}: {sorted(plugins)}"
        return
    if unknown := sorted(set(config) - GATEWAY_PLUGIN_KEYS):
        yield f"the gatewayAPI plugin has no settings {unknown}"
    if config.get("namespace") != namespace:
        yield (f"the gatewayAPI plugin looks for the HTTPRoute in namespace "
               f"{config.get('namespace')!r}, the Rollout is in {namespace!r}")
    route = named(docs, "HTTPRoute", config.get("httpRoute", ""))
    if route is None:
        yield f"HTTPRoute {config.get('httpRoute')!r} is not applied with the Rollout"
        return
    refs = [[ref["name"] for ref in rule.get("backendRefs", [])] for rule in route["spec"]["rules"]]
    if not any(stable in names and canary in names for names in refs):
        yield f"no HTTPRoute rule has both the stable and canary backendRefs: {refs}"
    for rule in route["spec"]["rules"]:
        targets = [ref["name"] for ref in rule.get("backendRefs", [])] + [
            f["requestMirror"]["backendRef"]["name"] for f in rule.get("filters", [])
            if f["type"] == "RequestMirror"]
        for target in targets:
            if named(docs, "Service", target) is None:
                yield f"HTTPRoute backend {target!r} is no Service applied with it"


def _istio(istio: Doc, stable: str, canary: str, docs: list[Doc]) -> Iterator[str]:
    reference = istio["virtualService"]
    service = named(docs, "VirtualService", reference["name"])
    if service is None:
        yield f"VirtualService {reference['name']!r} is not applied with the Rollout"
        return
    routes = {route.get("name"): route for route in service["spec"]["http"]}
    for name in reference.get("routes", []):
        if name not in routes:
            yield f"VirtualService has no http route named {name!r}"
            continue
        hosts = sorted(d["destination"]["host"] for d in routes[name]["route"])
        if hosts != sorted([stable, canary]):
            yield (f"route {name!r} must have exactly the stable and canary destinations, "
                   f"got {hosts}")
        mirror = routes[name].get("mirror")
        if mirror is not None and named(docs, "Service", mirror["host"]) is None:
            yield f"mirror host {mirror['host']!r} is no Service applied with it"


def _nginx(nginx: Doc, stable: str, docs: list[Doc]) -> Iterator[str]:
    ingress = named(docs, "Ingress", nginx.get("stableIngress", ""))
    if ingress is None:
        yield f"Ingress {nginx.get('stableIngress')!r} is not applied with the Rollout"
        return
    backends = {path["backend"]["service"]["name"] for rule in ingress["spec"]["rules"]
                for path in rule["http"]["paths"]}
    if backends != {stable}:
        yield f"the stable Ingress must route to the stable Service {stable!r} only, got {backends}"
