"""The checks an API server and controllers would make but schema validation cannot.

`problems(docs, spec, env)` reads one environment's rendered manifests (kubectl kustomize output)
and returns every inconsistency as a sentence; the tests assert it is empty for each overlay, and
that it does report deliberately broken manifests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mlops.compiler.targets.kubernetes import (
    IMAGE_TAG_PLACEHOLDER,
    PRESTOP_SLEEP_SECONDS,
    RUN_AS_USER,
    TERMINATION_GRACE_SECONDS,
)
from mlops.core import telemetry
from mlops.spec.models import Environment, Resources, Spec

Doc = dict[str, Any]
COMPONENT = "app.kubernetes.io/component"
CHALLENGER = "challenger"
NAMESPACED = {"Deployment", "Service", "ServiceAccount", "ConfigMap", "PodDisruptionBudget", "Job",
              "NetworkPolicy", "CronJob", "HorizontalPodAutoscaler", "Rollout", "AnalysisTemplate",
              "HTTPRoute", "VirtualService", "Ingress"}


def by_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [doc for doc in docs if doc.get("kind") == kind]


def one(docs: list[Doc], kind: str, name: str | None = None) -> Doc:
    found = [doc for doc in by_kind(docs, kind) if name is None or doc["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def problems(docs: list[Doc], spec: Spec, env: Environment) -> list[str]:
    return list(_problems(docs, spec, env))


def _problems(docs: list[Doc], spec: Spec, env: Environment) -> Iterator[str]:
    name = spec.name
    deployment = one(docs, "Deployment", name)
    log = spec.serving.request_log
    shared_log = log is not None and log.claim is not None
    if not shared_log and by_kind(docs, "CronJob"):
        yield "a monitor CronJob exists, but no claim shares the request log with it"
    cronjob = one(docs, "CronJob", f"{name}-monitor") if shared_log else None
    pod = deployment["spec"]["template"]
    monitor_pod = cronjob["spec"]["jobTemplate"]["spec"]["template"] if cronjob else None
    server_labels = pod["metadata"]["labels"]
    monitor_labels = monitor_pod["metadata"]["labels"] if monitor_pod else {}

    for doc in docs:
        if doc["kind"] in NAMESPACED and doc["metadata"].get("namespace") != env.namespace:
            yield f"{doc['kind']} {doc['metadata']['name']} is not in namespace {env.namespace}"

    # Selectors: each selects the server pods (and only them), never the monitor job's pods.
    selectors = {"Deployment selector": deployment["spec"]["selector"]["matchLabels"]}
    service = one(docs, "Service", name)
    selectors["Service selector"] = service["spec"]["selector"]
    selectors["PodDisruptionBudget selector"] = one(
        docs, "PodDisruptionBudget", name)["spec"]["selector"]["matchLabels"]
    selectors["server NetworkPolicy"] = one(
        docs, "NetworkPolicy", name)["spec"]["podSelector"]["matchLabels"]
    for what, selector in selectors.items():
        if not matches(selector, server_labels):
            yield f"{what} {selector} does not match the server pod labels {server_labels}"
        if matches(selector, monitor_labels):
            yield f"{what} {selector} also selects the monitor job's pods"
    if monitor_pod is not None:
        monitor_policy = one(docs, "NetworkPolicy", f"{name}-monitor")["spec"]["podSelector"]
        if not matches(monitor_policy["matchLabels"], monitor_labels):
            yield "the monitor NetworkPolicy does not select the monitor job's pods"

    # Ports: Service -> container port -> serving.port -> what the server is told to bind.
    container = _container(pod, "server")
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    for port in service["spec"]["ports"]:
        target = port["targetPort"]
        if (ports.get(target) if isinstance(target, str) else target) != spec.serving.port:
            yield f"Service targetPort {target!r} is not the server's port {spec.serving.port}"
    env_map = _config_map(docs, container["envFrom"][0]["configMapRef"]["name"])
    if env_map is None:
        yield "the server's envFrom ConfigMap does not exist"
    elif env_map.get("MLOPS_PORT") != str(spec.serving.port):
        yield f"MLOPS_PORT {env_map.get('MLOPS_PORT')} is not serving.port {spec.serving.port}"
    annotations = pod["metadata"].get("annotations", {})
    if (annotations.get("prometheus.io/port") != str(spec.serving.port)
            or annotations.get("prometheus.io/path") != telemetry.METRICS_PATH):
        yield f"Prometheus scrape annotations {annotations} do not point at the metrics endpoint"
    ingress = one(docs, "NetworkPolicy", name)["spec"]["ingress"]
    if [p["port"] for rule in ingress for p in rule["ports"]] != [spec.serving.port]:
        yield f"the server NetworkPolicy does not admit exactly port {spec.serving.port}"

    # Probes hit the server's real endpoints on its named port.
    expected_probes = {"startupProbe": telemetry.READY_PATH, "readinessProbe": telemetry.READY_PATH,
                       "livenessProbe": telemetry.LIVE_PATH}
    for probe, path in expected_probes.items():
        get = container.get(probe, {}).get("httpGet", {})
        if get.get("path") != path or get.get("port") not in ports:
            yield f"{probe} is {get or 'missing'}; expected {path} on a declared container port"

    # Replicas, autoscaling and the canary workload; the challenger's, where one runs.
    yield from _scaling(docs, spec, env, deployment, server_labels)
    yield from _challenger(docs, env, server_labels)

    # Both pods: hardened, sized like the environment, running the same image.
    yield from _pod_security("server", pod["spec"], container, env.resources)
    if container["image"].endswith(":latest") or not (
        container["image"].endswith(f":{IMAGE_TAG_PLACEHOLDER}") or "@sha256:" in container["image"]
    ):
        yield f"image {container['image']} is neither the release placeholder nor a digest"
    if pod["spec"].get("terminationGracePeriodSeconds") != TERMINATION_GRACE_SECONDS:
        yield "terminationGracePeriodSeconds is not the server's drain budget"
    sleep = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds")
    if sleep != PRESTOP_SLEEP_SECONDS:
        yield f"preStop sleep is {sleep}, expected {PRESTOP_SLEEP_SECONDS}"
    mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
    if spec.serving.request_log is not None and spec.serving.request_log.path not in mounts:
        yield "the request log folder is not writable (no volume mounted there)"

    if cronjob is not None and monitor_pod is not None:
        yield from _monitor_job(docs, spec, env, cronjob, monitor_pod, container)


def _monitor_job(docs: list[Doc], spec: Spec, env: Environment, cronjob: Doc, monitor_pod: Doc,
                 server: Doc) -> Iterator[str]:
    """The monitor CronJob: hardened and sized like the server, same image, the monitor command."""
    monitor = _container(monitor_pod, "monitor")
    yield from _pod_security("monitor", monitor_pod["spec"], monitor, env.resources)
    if monitor["image"] != server["image"]:
        yield f"the monitor job runs {monitor['image']}, the server {server['image']}"
    if cronjob["spec"]["schedule"] != spec.monitors.schedule:
        yield f"CronJob schedule {cronjob['spec']['schedule']!r} is not {spec.monitors.schedule!r}"
    if monitor["command"][:3] != ["mlops", "monitor", "run"]:
        yield f"the CronJob runs {monitor['command']}, not `mlops monitor run`"
    for volume in monitor_pod["spec"]["volumes"]:
        if "configMap" in volume and _config_map(docs, volume["configMap"]["name"]) is None:
            yield f"the monitor's ConfigMap {volume['configMap']['name']} does not exist"


def _scaling(docs: list[Doc], spec: Spec, env: Environment, deployment: Doc,
             server_labels: dict[str, str]) -> Iterator[str]:
    canary = env.rollout.strategy == "canary"
    rollouts = by_kind(docs, "Rollout")
    workload = deployment
    if canary:
        if len(rollouts) != 1:
            yield "a canary environment needs exactly one Rollout"
            return
        workload = rollouts[0]
        ref = workload["spec"].get("workloadRef", {})
        if (ref.get("kind"), ref.get("name")) != ("Deployment", spec.name):
            yield f"the Rollout's workloadRef {ref} does not name the Deployment"
        if deployment["spec"].get("replicas") != 0:
            yield "the Deployment behind a Rollout must stay at zero replicas"
        if not matches(workload["spec"]["selector"]["matchLabels"], server_labels):
            yield "the Rollout selector does not match the pod template labels"
        steps = workload["spec"]["strategy"]["canary"]["steps"]
        weights = [step["setWeight"] for step in steps if "setWeight" in step]
        if weights != [w for w in env.rollout.steps if w < 100]:
            yield f"canary weights {weights} are not the spec's steps {env.rollout.steps}"
        template = workload["spec"]["strategy"]["canary"]["analysis"]["templates"][0]
        one(docs, "AnalysisTemplate", template["templateName"])
    elif rollouts:
        yield "a rolling environment must not have a Rollout"
    hpas = [hpa for hpa in by_kind(docs, "HorizontalPodAutoscaler")
            if hpa["metadata"]["labels"].get(COMPONENT) != CHALLENGER]
    if env.autoscale is None:
        if hpas:
            yield "an environment without autoscale has a HorizontalPodAutoscaler"
        if workload["spec"].get("replicas") != env.replicas:
            yield f"{workload['kind']} replicas {workload['spec'].get('replicas')} != {env.replicas}"
        return
    if len(hpas) != 1:
        yield "an autoscaled environment needs exactly one HorizontalPodAutoscaler"
        return
    hpa = hpas[0]["spec"]
    target = hpa["scaleTargetRef"]
    if (target["kind"], target["name"]) != (workload["kind"], workload["metadata"]["name"]):
        yield f"HPA targets {target['kind']}/{target['name']}, not the workload"
    if not hpa["minReplicas"] <= hpa["maxReplicas"]:
        yield f"HPA minReplicas {hpa['minReplicas']} > maxReplicas {hpa['maxReplicas']}"
    if (hpa["minReplicas"], hpa["maxReplicas"]) != (env.autoscale.min, env.autoscale.max):
        yield "HPA bounds are not the spec's"
    if hpa["metrics"][0]["resource"]["target"]["averageUtilization"] != env.autoscale.cpu_percent:
        yield "HPA CPU target is not the spec's cpu_percent"
    if "replicas" in workload["spec"]:
        yield "an autoscaled workload must leave replicas to the HPA"
    cpu = _container(deployment["spec"]["template"], "server")["resources"]["requests"].get("cpu")
    if not cpu:
        yield "autoscaling on CPU needs a CPU request"


def _challenger(docs: list[Doc], env: Environment, server_labels: dict[str, str]
                ) -> Iterator[str]:
    """The challenger's Deployment has its own disruption budget and, in an autoscaled
    environment, its own autoscaler owning its replicas; neither touches the champion's pods."""
    deployments = [d for d in by_kind(docs, "Deployment")
                   if d["metadata"]["labels"].get(COMPONENT) == CHALLENGER]
    hpas = [h for h in by_kind(docs, "HorizontalPodAutoscaler")
            if h["metadata"]["labels"].get(COMPONENT) == CHALLENGER]
    if not deployments:
        if hpas:
            yield "a challenger HorizontalPodAutoscaler without a challenger"
        return
    (deployment,) = deployments
    name = deployment["metadata"]["name"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    budget = one(docs, "PodDisruptionBudget", name)["spec"]["selector"]["matchLabels"]
    if not matches(budget, labels) or matches(budget, server_labels):
        yield f"the challenger's PodDisruptionBudget selector {budget} is not its pods' alone"
    if env.autoscale is None:
        if hpas:
            yield "an environment without autoscale has a challenger HorizontalPodAutoscaler"
        if not deployment["spec"].get("replicas"):
            yield "the challenger needs replicas without an autoscaler"
        return
    if len(hpas) != 1:
        yield "an autoscaled environment's challenger needs exactly one HorizontalPodAutoscaler"
        return
    hpa = hpas[0]["spec"]
    target = hpa["scaleTargetRef"]
    if (target["kind"], target["name"]) != ("Deployment", name):
        yield f"the challenger's HPA targets {target['kind']}/{target['name']}, not its Deployment"
    if not 1 <= hpa["minReplicas"] <= hpa["maxReplicas"] <= env.autoscale.max:
        yield f"the challenger's HPA bounds {hpa['minReplicas']}..{hpa['maxReplicas']} are off"
    if hpa["metrics"][0]["resource"]["target"]["averageUtilization"] != env.autoscale.cpu_percent:
        yield "the challenger's HPA CPU target is not the spec's cpu_percent"
    if "replicas" in deployment["spec"]:
        yield "an autoscaled challenger must leave replicas to its HPA"


def _pod_security(what: str, pod: Doc, container: Doc, resources: Resources) -> Iterator[str]:
    context = pod.get("securityContext", {})
    if not (context.get("runAsNonRoot") is True and context.get("runAsUser") == RUN_AS_USER
            and context.get("seccompProfile", {}).get("type") == "RuntimeDefault"):
        yield f"{what} pod securityContext is not non-root {RUN_AS_USER} with RuntimeDefault seccomp"
    if pod.get("automountServiceAccountToken") is not False:
        yield f"{what} pod mounts a service account token"
    own = container.get("securityContext", {})
    if not (own.get("readOnlyRootFilesystem") is True
            and own.get("allowPrivilegeEscalation") is False
            and own.get("capabilities", {}).get("drop") == ["ALL"]):
        yield f"{what} container is not read-only, non-escalating, with ALL capabilities dropped"
    if container.get("imagePullPolicy") != "Always":
        yield f"{what} container does not pull Always"
    expected = {
        "requests": {"cpu": resources.cpu, "memory": resources.memory},
        "limits": {"cpu": resources.cpu_limit or resources.cpu,
                   "memory": resources.memory_limit or resources.memory},
    }
    if container.get("resources") != expected:
        yield f"{what} resources {container.get('resources')} are not {expected}"
    volumes = {volume["name"] for volume in pod.get("volumes", [])}
    mounts = container.get("volumeMounts", [])
    if "/tmp" not in {mount["mountPath"] for mount in mounts}:
        yield f"{what} container has no writable /tmp"
    for mount in mounts:
        if mount["name"] not in volumes:
            yield f"{what} mounts volume {mount['name']} that the pod does not define"


def _container(pod: Doc, name: str) -> Doc:
    containers: dict[str, Doc] = {c["name"]: c for c in pod["spec"]["containers"]}
    return containers[name]


def _config_map(docs: list[Doc], name: str) -> dict[str, str] | None:
    found = [doc for doc in by_kind(docs, "ConfigMap") if doc["metadata"]["name"] == name]
    return dict(found[0].get("data", {})) if found else None
