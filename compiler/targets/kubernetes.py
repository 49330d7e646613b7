"""Kubernetes target: a kustomize base, one overlay per environment, and the GitOps controllers' objects.

The base holds one Deployment whose pod template is the single source of the pod spec. An
environment with `rollout: canary` adds an Argo Rollouts `Rollout` that *references* that Deployment
(`workloadRef`) and scales it to zero, so canary and rolling environments share one hardened pod
template instead of two copies that could drift apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal
from urllib.parse import urlsplit

from mlops.compiler.install import monitor_in_cluster
from mlops.compiler.plan import GeneratedFile, RenderContext
from mlops.compiler.targets import kubernetes_batch, kubernetes_load, kubernetes_traffic
from mlops.compiler.targets.monitoring import (
    MONITOR_DEADLINE_SECONDS,
    monitor_config,
    yaml_quote,
)
from mlops.core import telemetry
from mlops.spec.container import FEEDBACK_DIR, feedback_file, in_container
from mlops.spec.kubernetes_names import DerivedNames
from mlops.spec.models import Environment, Resources, Spec
from mlops.spec.threshold import format_number
from mlops.spec.types import format_duration

TERMINATION_GRACE_SECONDS = 30
"""Pod shutdown budget; the server's SIGTERM drain must finish within it minus PRESTOP_SLEEP_SECONDS."""
PRESTOP_SLEEP_SECONDS = 5
"""Pause before SIGTERM so Service endpoints stop routing to a terminating pod first."""
RUN_AS_USER = 10001
RUN_AS_GROUP = 10001
"""Fixed non-root UID/GID; the image's user must own nothing the pod needs to write."""
IMAGE_TAG_PLACEHOLDER = "unreleased"
"""Tag in each overlay's `images:` until the release workflow pins the pushed digest there."""
CONFIG_DIR = "/etc/mlops"
"""Where the monitor job's ConfigMap (monitor.yaml) is mounted."""
CONTAINER_PORT_NAME = "http"
SERVICE_PORT = 80
LOAD_CLUSTER = kubernetes_load.Cluster(RUN_AS_USER, RUN_AS_GROUP, SERVICE_PORT)
"""The in-cluster load test's Locust pods run as the server's; it targets the Services' port."""
MONITOR_COMMAND = ("mlops", "monitor", "run", "mlops.yaml", "--config", f"{CONFIG_DIR}/monitor.yaml",
                   "--report-dir", "/tmp/monitor")
"""The CronJob's command: the image's working directory holds mlops.yaml; only /tmp is writable."""


def monitor_command(spec: Spec) -> tuple[str, ...]:
    """MONITOR_COMMAND, reading the feedback labels from their mounted claim when there is one."""
    performance = spec.monitors.performance
    if performance is None or performance.claim is None:
        return MONITOR_COMMAND
    return (*MONITOR_COMMAND, "--feedback", str(feedback_file(performance.labels)))


def request_log_dir(spec: Spec) -> str | None:
    """The request log folder inside the containers (relative paths live under the app folder)."""
    log = spec.serving.request_log
    return None if log is None else str(in_container(log.path))

"""Prometheus the canary analysis queries (the Prometheus Operator's default service)."""
DEFAULT_CANARY_P95_MS = 500.0
DEFAULT_CANARY_ERROR_RATE = 0.05
"""Canary limits when neither `monitors` nor `load.thresholds` give one."""

WorkloadKind = Literal["Deployment", "Rollout"]


@dataclass(frozen=True)
class CanaryCheck:
    """One Argo Rollouts analysis metric: a PromQL query and the condition that keeps the canary."""

    name: str
    query: str
    op: str
    limit: float
    source: str

    @property
    def success_condition(self) -> str:
        # No traffic yet gives NaN (0/0): that is not evidence against the canary.
        return f"isNaN(result[0]) || result[0] {self.op} {format_number(self.limit)}"


@dataclass(frozen=True)
class Overlay:
    """One environment's overlay, with what kind of object runs its pods."""

    env: Environment
    index: int

    @property
    def canary(self) -> bool:
        return self.env.rollout.strategy == "canary"

    @property
    def workload_kind(self) -> WorkloadKind:
        return "Rollout" if self.canary else "Deployment"

    @property
    def workload_api(self) -> str:
        return "argoproj.io/v1alpha1" if self.canary else "apps/v1"


def canary_checks(spec: Spec, window: str) -> list[CanaryCheck]:
    """Error rate and p95 latency limits: the monitors' alert thresholds, else the load SLOs."""
    # The champion's pods only: a challenger's answers (serving.challenger) must not decide.
    model = f'model="{spec.name}",variant="champion"'
    requests, duration = telemetry.REQUESTS.name, telemetry.REQUEST_DURATION.name
    error_query = (f'sum(rate({requests}{{{model},status=~"5.."}}[{window}])) / '
                   f'sum(rate({requests}{{{model}}}[{window}]))')
    inference = telemetry.INFERENCE_ENDPOINTS_REGEX
    latency_query = (f"histogram_quantile(0.95, sum by (le) "
                     f'(rate({duration}_bucket{{{model},endpoint=~"{inference}"}}[{window}])))')
    monitors, slos = spec.monitors, spec.load.thresholds.thresholds()
    load_errors, load_p95 = slos.get("error_rate"), slos.get("p95_ms")
    if monitors.error_rate is not None:
        errors = CanaryCheck("error-rate", error_query, "<=", monitors.error_rate.max,
                             "monitors.error_rate.max")
    elif load_errors is not None and load_errors.comparison.op in ("<", "<="):
        errors = CanaryCheck("error-rate", error_query, load_errors.comparison.op,
                             load_errors.comparison.value, "load.thresholds.error_rate")
    else:
        errors = CanaryCheck("error-rate", error_query, "<=", DEFAULT_CANARY_ERROR_RATE, "default")
    if monitors.latency is not None:
        latency = CanaryCheck("latency-p95", latency_query, "<=", monitors.latency.p95_ms / 1000,
                              "monitors.latency.p95_ms")
    elif load_p95 is not None and load_p95.comparison.op in ("<", "<="):
        latency = CanaryCheck("latency-p95", latency_query, load_p95.comparison.op,
                              load_p95.comparison.value / 1000, "load.thresholds.p95_ms")
    else:
        latency = CanaryCheck("latency-p95", latency_query, "<=", DEFAULT_CANARY_P95_MS / 1000,
                              "default")
    return [errors, latency]


def go_duration(seconds: int) -> str:
    """Whole seconds as a Go duration ('90s', '5m', '24h'): Argo Rollouts parses pauses with Go's
    time.ParseDuration, which has no 'd' unit."""
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def pushgateway_port(url: str | None) -> int | None:
    """TCP port the monitor job must reach (NetworkPolicy egress), or None without a Pushgateway."""
    if url is None:
        return None
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def serving_env(spec: Spec) -> dict[str, str]:
    """The server's ConfigMap: the environment variables `mlops serve` reads over the spec."""
    env = {"MLOPS_HOST": "0.0.0.0", "MLOPS_PORT": str(spec.serving.port),
           "MLOPS_WORKERS": str(spec.serving.workers)}
    log_dir = request_log_dir(spec)
    if log_dir is not None:
        env["MLOPS_REQUEST_LOG_DIR"] = log_dir
    return env


class KubernetesTarget:
    """generated/k8s/: base/, overlays/<env>/, and argocd/ or flux/ per `deploy.gitops`.

    The monitor CronJob (and its ConfigMap and NetworkPolicy) exists only when a pod can read the
    request log: `serving.request_log.claim` shares it. Without one, a CronJob would fail every
    run; the monitor then runs where the log is (the GitHub workflow, or by hand).
    """

    name = "kubernetes"

    def render(self, ctx: RenderContext) -> list[GeneratedFile]:
        return list(self._files(ctx))

    def _files(self, ctx: RenderContext) -> Iterator[GeneratedFile]:
        spec = ctx.loaded.spec
        root = ctx.output_dir / "k8s"
        overlays = [Overlay(env, index) for index, env in enumerate(spec.deploy.environments)]
        common = {
            "labels": {"app.kubernetes.io/name": spec.name, "app.kubernetes.io/part-of": "mlops",
                       "app.kubernetes.io/managed-by": "mlops"},
            "image": f"{spec.deploy.image}:{IMAGE_TAG_PLACEHOLDER}",
            "port_name": CONTAINER_PORT_NAME,
            "default_resources": Resources(),
            "telemetry": telemetry,
            "quote": yaml_quote,
            "names": DerivedNames(spec),
            "monitor_in_cluster": monitor_in_cluster(spec),
        }
        base: list[tuple[str, str, dict[str, object]]] = [
            ("serviceaccount.yaml", "deploy", {}),
            ("deployment.yaml", "serving", {
                "grace_seconds": TERMINATION_GRACE_SECONDS, "prestop_seconds": PRESTOP_SLEEP_SECONDS,
                "user": RUN_AS_USER, "group": RUN_AS_GROUP, "log_dir": request_log_dir(spec)}),
            ("service.yaml", "serving", {"service_port": SERVICE_PORT}),
            ("pdb.yaml", "deploy", {}),
            ("networkpolicy.yaml", "serving", {
                "pushgateway_port": pushgateway_port(spec.monitors.pushgateway)}),
            ("kustomization.yaml", "deploy", {"serving_env": serving_env(spec)}),
        ]
        if monitor_in_cluster(spec):
            base.append(("cronjob.yaml", "monitors", {
                "user": RUN_AS_USER, "group": RUN_AS_GROUP, "config_dir": CONFIG_DIR,
                "command": monitor_command(spec), "deadline_seconds": MONITOR_DEADLINE_SECONDS,
                "log_dir": request_log_dir(spec), "feedback_dir": FEEDBACK_DIR}))
        rendered: dict[str, str] = {}
        for filename, origin, variables in base:
            rendered[filename] = ctx.render(f"kubernetes/base/{filename}.j2", **common, **variables)
            yield GeneratedFile(root / "base" / filename, rendered[filename], (origin,))
        if monitor_in_cluster(spec):
            yield GeneratedFile(root / "base" / "monitor.yaml", monitor_config(ctx), ("monitors",))
        for overlay in overlays:
            yield from self._overlay(ctx, root, overlay, common, rendered)
        if spec.deploy.gitops != "none":
            yield from self._gitops(ctx, root, overlays, common)
        yield from kubernetes_load.files(ctx, root, common, LOAD_CLUSTER)
        yield from kubernetes_batch.files(ctx, root, common, RUN_AS_USER, RUN_AS_GROUP)

    @staticmethod
    def _overlay(ctx: RenderContext, root: PurePosixPath, overlay: Overlay,
                 common: dict[str, object], base: dict[str, str]) -> Iterator[GeneratedFile]:
        spec = ctx.loaded.spec
        folder = root / "overlays" / overlay.env.name
        origin = ("deploy", "environments", overlay.index)
        pause = max(1, round(overlay.env.rollout.pause))
        variables = {**common, "overlay": overlay, "env": overlay.env,
                     **kubernetes_load.overlay_variables(ctx, overlay.env, common, LOAD_CLUSTER),
                     "pause": go_duration(pause),
                     "checks": canary_checks(spec, format_duration(min(max(pause, 60), 300))),
                     "prometheus_url": spec.monitors.prometheus_url,
                     "image_name": spec.deploy.image, "tag": IMAGE_TAG_PLACEHOLDER,
                     "digest": ctx.promoted_digest(overlay.env.name),
                     "routing": kubernetes_traffic.routing(spec, overlay.env),
                     "service_port": SERVICE_PORT,
                     "gateway_plugin": kubernetes_traffic.GATEWAY_PLUGIN,
                     "batch_resource": kubernetes_batch.overlay_resource(ctx, overlay.env),
                     "istio_route": kubernetes_traffic.ISTIO_ROUTE}
        names = ["kustomization.yaml"]
        if overlay.env.autoscale is not None:
            names.append("hpa.yaml")
        if overlay.canary:
            names += ["rollout.yaml", "analysistemplate.yaml"]
        if variables["load_canary_service"]:
            names.append("canary-service.yaml")
        for filename in names:
            yield GeneratedFile(folder / filename,
                                ctx.render(f"kubernetes/overlay/{filename}.j2", **variables),
                                origin)
        routing = kubernetes_traffic.routing(spec, overlay.env)
        if routing is not None:
            yield from kubernetes_traffic.overlay_files(ctx, folder, routing, variables, base, origin)

    @staticmethod
    def _gitops(ctx: RenderContext, root: PurePosixPath, overlays: list[Overlay],
                common: dict[str, object]) -> Iterator[GeneratedFile]:
        gitops = ctx.loaded.spec.deploy.gitops
        for overlay in overlays:
            variables = {**common, "overlay": overlay, "env": overlay.env,
                         "path": str(root / "overlays" / overlay.env.name),
                         "load_dependency": kubernetes_load.load_dependency(ctx.loaded.spec,
                                                                            overlay.env)}
            template = "application.yaml" if gitops == "argocd" else "kustomization.yaml"
            yield GeneratedFile(root / gitops / f"{overlay.env.name}.yaml",
                                ctx.render(f"kubernetes/{gitops}/{template}.j2", **variables),
                                ("deploy", "environments", overlay.index))
            load_file = kubernetes_load.flux_file(ctx, root, overlay.env, overlay.index, common,
                                                  LOAD_CLUSTER)
            if load_file is not None:
                yield load_file
        if gitops == "flux":
            yield GeneratedFile(root / "flux" / "gitrepository.yaml",
                                ctx.render("kubernetes/flux/gitrepository.yaml.j2", **common),
                                ("deploy", "repository"))


TARGET = KubernetesTarget()
