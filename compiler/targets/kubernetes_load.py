"""The load gate inside the cluster: Locust as Kubernetes Jobs (`load.cluster`).

`generated/k8s/load/config/` holds what every environment shares: a ConfigMap with the locustfile
(the load target's template, so the SLOs and their verdict are the local gate's), a locust.conf
and the first `load.cluster.rows` test rows; the Locust pods' ServiceAccount and NetworkPolicy.
`generated/k8s/load/<environment>/` adds a Locust master Job, a worker Job and the master's
headless Service, aimed at that environment's Service. The master's exit code is the verdict.

Where it runs:
- by hand or from CI: `kubectl apply -k generated/k8s/load/<environment>`;
- an environment before the last one, with Argo CD: its overlay includes the Jobs as PostSync
  hooks, so every sync of staging is followed by the load test (a failed one fails the sync);
  with Flux (no hooks): a second Kustomization (`flux/<environment>-load.yaml`) that
  `dependsOn` the environment's and `wait`s for the Jobs, unless the environment is a canary;
- a canary environment: its AnalysisTemplate gains a Job metric whose one pod runs the master and
  the workers (over localhost: Argo Rollouts names that Job itself, so no Service can find it)
  against the canary's own Service; a failed load test aborts the rollout.

What it gates: the next environment. The Jobs' pod templates carry the image digest their
environment is pinned to (`mlops compile --promote` records it in the lock), so every promotion
is a new Job spec that Flux's `force` replaces (Argo CD re-creates its hooks anyway). With Flux
the next environment's Kustomization `dependsOn` the load Kustomization (`load_dependency`); with
Argo CD, which has no dependency between Applications, the release workflow waits for the
Application's sync (`argocd_gate`).

Locust runs in the official image of the Locust version the `load` extra installs, pinned by tag:
the server image deliberately carries no load stack (a smaller attack surface for what serves
users), and a second generated image would need its own build, scan, signing and promotion for
what upstream already publishes.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mlops.compiler.plan import GeneratedFile, RenderContext
from mlops.compiler.targets.load import slos
from mlops.core.telemetry import PREDICT_PATH
from mlops.spec.errors import SpecError
from mlops.spec.kubernetes_names import DerivedNames
from mlops.spec.models import ClusterLoad, Environment, Resources, Spec
from mlops.spec.threshold import format_number
from mlops.spec.types import format_duration

from .load import CONVERTERS

LOCUST_VERSION = "2.47.0"
"""The Locust the `load` extra installs (a test keeps them equal): the same SLO code runs both."""
LOCUST_IMAGE = f"docker.io/locustio/locust:{LOCUST_VERSION}"
MOUNT = "/etc/locust"
"""Where the ConfigMap is mounted in the Locust containers."""
MASTER_PORT = 5557
WORKERS_WAIT_SECONDS = 60
FINISH_MARGIN_SECONDS = 120
CONFIGMAP_LIMIT = 1024 * 1024
"""Kubernetes (etcd) refuses a ConfigMap over 1 MiB."""
CONFIGMAP_BUDGET = CONFIGMAP_LIMIT - 16 * 1024
"""What its data may take: the rest is left to metadata, labels and the do-not-edit header."""
ROWS_FILE = "rows.csv"
LOAD_RESOURCES = Resources(cpu="500m", memory="256Mi", cpu_limit="1", memory_limit="512Mi")
"""Per Locust process: one core is all a gevent process uses; memory holds the rows and stats."""
SERVICE_PORT = 80


@dataclass(frozen=True)
class Cluster:
    """What the load test takes from the server's objects: its pods' user and group (the Locust
    pods run as the server's do) and its Services' port."""

    user: int
    group: int
    service_port: int

    def variables(self) -> dict[str, object]:
        return {"user": self.user, "group": self.group, "service_port": self.service_port}


@dataclass(frozen=True)
class LoadTest:
    """One environment's load test: what it targets and how its pods are started."""

    env: Environment
    host: str
    workers: int
    deadline_seconds: int

    @property
    def master_command(self) -> tuple[str, ...]:
        return ("locust", "-f", f"{MOUNT}/locustfile.py", "--config", f"{MOUNT}/locust.conf",
                "--master", "--headless", "--expect-workers", str(self.workers),
                "--expect-workers-max-wait", str(WORKERS_WAIT_SECONDS))

    @property
    def worker_command(self) -> tuple[str, ...]:
        # No --config: locust.conf sets the run time, which Locust refuses on a worker.
        return ("locust", "-f", f"{MOUNT}/locustfile.py", "--worker")

    def master_env(self) -> dict[str, str]:
        """Locust reads its host and port from these (a flag would win): the tests point them at
        a local server and port with the commands unchanged."""
        return {"LOCUST_HOST": self.host, "LOCUST_MASTER_BIND_PORT": str(MASTER_PORT)}

    def worker_env(self, master_host: str) -> dict[str, str]:
        return {"LOCUST_MASTER_NODE_HOST": master_host,
                "LOCUST_MASTER_NODE_PORT": str(MASTER_PORT)}


def deadline_seconds(spec: Spec) -> int:
    """How long a load test's master may run: the workers' wait, the run, a margin to finish."""
    return math.ceil(spec.load.duration) + WORKERS_WAIT_SECONDS + FINISH_MARGIN_SECONDS


def load_test(spec: Spec, env: Environment, service: str, port: int) -> LoadTest:
    """The load test of `service` (the environment's, or its canary's) in its namespace."""
    cluster = spec.load.cluster
    assert cluster is not None
    return LoadTest(env, f"http://{service}.{env.namespace}.svc:{port}", cluster.workers,
                    deadline_seconds(spec))


def is_staging(spec: Spec, env: Environment) -> bool:
    """An environment before the last one: its load test gates promotion to the next."""
    return env is not spec.deploy.environments[-1]


def argocd_hook(spec: Spec, env: Environment) -> bool:
    """Whether the environment's overlay runs the load Jobs as Argo CD PostSync hooks."""
    return spec.load.cluster is not None and spec.deploy.gitops == "argocd" and is_staging(spec, env)


def flux_load(spec: Spec, env: Environment) -> bool:
    """Whether Flux runs the environment's load test in a Kustomization of its own.

    Not for a canary environment: its analysis already load-tests every new version before it
    is promoted, and its overlay applies the load test's ConfigMap, which a second Kustomization
    would then fight over.
    """
    return (spec.load.cluster is not None and spec.deploy.gitops == "flux"
            and is_staging(spec, env) and env.rollout.strategy != "canary")


def _previous(spec: Spec, env: Environment) -> Environment | None:
    environments = spec.deploy.environments
    index = next(i for i, e in enumerate(environments) if e is env)
    return environments[index - 1] if index else None


def load_dependency(spec: Spec, env: Environment) -> str | None:
    """The load Kustomization the environment's Flux Kustomization `dependsOn`: the previous
    environment's, when Flux runs one; else None.

    kustomize-controller reconciles a Kustomization only when each dependency is Ready and,
    when both use the same source (here one GitRepository), has applied that source's current
    revision (`checkDependencies` in fluxcd/kustomize-controller
    internal/controller/kustomization_controller.go: "dependency '...' is not ready",
    "dependency '...' revision is not up to date"; docs/spec/v1/kustomizations.md,
    "Dependencies"). The load Kustomization `wait`s for its Jobs, so it is Ready at a revision
    only when the master Job of that revision's image completed: a failed load test holds the
    next environment at its old revision, and kustomize-controller re-checks the dependency at
    its `--requeue-dependency` interval until a later revision passes.

    The generated layout is one cluster: every Kustomization lives in flux-system and reads one
    GitRepository (Argo CD's Applications target the in-cluster server alike). Applied in
    another cluster, the next environment's Kustomization finds no dependency there and Flux
    holds it back for good ("dependency '...' not found"): it fails closed, and such a team
    must replace this dependency with a check of its own.
    """
    previous = _previous(spec, env)
    if previous is None or not flux_load(spec, previous):
        return None
    return DerivedNames(spec).load_environment(previous)


def argocd_gate(spec: Spec, env: Environment) -> Environment | None:
    """The environment whose Argo CD sync, PostSync load test included, must have succeeded
    before the release workflow pins `env`: the previous one when its load Jobs are PostSync
    hooks, else None. Argo CD has no dependency between Applications, so the workflow reads
    the Application's operation state from Argo CD's API (release.yml.j2)."""
    previous = _previous(spec, env)
    return previous if previous is not None and argocd_hook(spec, previous) else None


def _rows_csv(ctx: RenderContext, cluster: ClusterLoad) -> str:
    """The first `cluster.rows` rows of data.test, features only, as CSV."""
    loaded = ctx.loaded
    data = loaded.spec.data
    path = loaded.resolve(data.test)
    if not path.is_file():
        raise SpecError([loaded.source.diagnostic(
            ("data", "test"),
            f"{data.test} not found: load.cluster copies its first rows into the in-cluster load "
            "test's ConfigMap at compile time")])
    features = list(data.features)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(features)
    for row in _read_rows(path, data.format, features, cluster.rows):
        writer.writerow(["" if value is None else value for value in row])
    return out.getvalue()


def _read_rows(path: Path, file_format: str, features: list[str], limit: int) -> Iterator[list[object]]:
    if file_format == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path, columns=features).slice(0, limit)
        columns = [table.column(name).to_pylist() for name in features]
        yield from (list(values) for values in zip(*columns, strict=True))
        return
    with path.open(newline="", encoding="utf-8") as handle:
        for record, _ in zip(csv.DictReader(handle), range(limit), strict=False):
            yield [record.get(name) for name in features]


def config_data(ctx: RenderContext) -> dict[str, str]:
    """The ConfigMap's files, after checking that they fit one."""
    loaded = ctx.loaded
    spec = loaded.spec
    cluster = spec.load.cluster
    assert cluster is not None
    data = spec.data
    view = {
        # The rows sit beside the locustfile: parents[0] of the mounted file.
        "spec_dir_depth": -1, "test_file": ROWS_FILE, "parquet": False,
        "features": [(name, CONVERTERS[data.columns[name].dtype]) for name in data.features],
        "predict_path": PREDICT_PATH, "slos": slos(ctx),
        "host": f"http://127.0.0.1:{spec.serving.port}",
    }
    files = {
        "locustfile.py": ctx.render("load/locustfile.py.j2", load=view),
        "locust.conf": ctx.render("kubernetes/load/locust.conf.j2", users=spec.load.users,
                                  spawn_rate=format_number(spec.load.spawn_rate),
                                  run_time=format_duration(spec.load.duration)),
        ROWS_FILE: _rows_csv(ctx, cluster),
    }
    size = sum(len(text.encode()) for text in files.values())
    if size > CONFIGMAP_BUDGET:
        rows_size = len(files[ROWS_FILE].encode())
        fit = max(0, int(cluster.rows * (CONFIGMAP_BUDGET - size + rows_size) / rows_size))
        raise SpecError([loaded.source.diagnostic(
            ("load", "cluster", "rows"),
            f"{cluster.rows} rows of {data.test} make the load test's ConfigMap {size} bytes, over "
            f"the {CONFIGMAP_BUDGET} its data may take (Kubernetes' limit is 1 MiB); set "
            f"load.cluster.rows to at most {fit}")])
    return files


def _render(ctx: RenderContext, template: str, common: dict[str, object], **variables: object) -> str:
    return ctx.render(f"kubernetes/load/{template}.j2", **common, **variables)


def pod_variables(spec: Spec, common: dict[str, object]) -> dict[str, object]:
    names = common["names"]
    assert isinstance(names, DerivedNames)
    return {"locust_image": LOCUST_IMAGE, "mount": MOUNT, "master_port": MASTER_PORT,
            "config_name": names.load, "cluster": spec.load.cluster,
            "load_resources": LOAD_RESOURCES}


def files(ctx: RenderContext, root: PurePosixPath, common: dict[str, object],
          cluster: Cluster) -> Iterator[GeneratedFile]:
    """k8s/load/config/ and k8s/load/<environment>/ for every environment."""
    spec = ctx.loaded.spec
    if spec.load.cluster is None:
        return
    names = DerivedNames(spec)
    shared = {**common, **cluster.variables(), **pod_variables(spec, common)}
    origin = ("load", "cluster")
    config = root / "load" / "config"
    yield GeneratedFile(config / "serviceaccount.yaml",
                        _render(ctx, "serviceaccount.yaml", shared), origin)
    yield GeneratedFile(config / "configmap.yaml",
                        _render(ctx, "configmap.yaml", shared, data=config_data(ctx)), origin)
    yield GeneratedFile(config / "networkpolicy.yaml",
                        _render(ctx, "networkpolicy.yaml", shared), origin)
    yield GeneratedFile(config / "kustomization.yaml",
                        _render(ctx, "config-kustomization.yaml", shared), origin)
    for index, env in enumerate(spec.deploy.environments):
        test = load_test(spec, env, names.model, cluster.service_port)
        folder = root / "load" / env.name
        variables = {"env": env, "test": test, "hook": argocd_hook(spec, env), "path": str(folder),
                     "digest": ctx.promoted_digest(env.name)}
        for name in ("kustomization.yaml", "service.yaml", "jobs.yaml"):
            yield GeneratedFile(folder / name, _render(ctx, name, shared, **variables),
                                ("deploy", "environments", index))


def canary_metric(ctx: RenderContext, env: Environment, common: dict[str, object],
                  cluster: Cluster) -> str | None:
    """The AnalysisTemplate metric that load-tests the canary's own Service, or None."""
    spec = ctx.loaded.spec
    if spec.load.cluster is None:
        return None
    names = DerivedNames(spec)
    test = load_test(spec, env, names.canary_service, cluster.service_port)
    containers = [("master", test.master_command, test.master_env(), None)]
    containers += [(f"worker-{index}", test.worker_command, test.worker_env("127.0.0.1"), None)
                   for index in range(test.workers)]
    variables = {**common, **cluster.variables(), **pod_variables(spec, common)}
    return _render(ctx, "analysis-metric.yaml", variables, env=env, test=test,
                   containers=containers)


def overlay_variables(ctx: RenderContext, env: Environment, common: dict[str, object],
                      cluster: Cluster) -> dict[str, object]:
    """What an environment's overlay templates need from the load test.

    `load_resource`: the kustomization the overlay includes: the whole load test where Argo CD
    runs it as PostSync hooks, only its ConfigMap and NetworkPolicy where a canary's analysis
    Job mounts them. `load_canary_service`: whether the overlay adds the canary Service (a
    traffic router adds it anyway, see kubernetes_traffic). `load_before_users`: with a router
    the canary can run at weight 0, so its load test passes before any user reaches it.
    """
    spec = ctx.loaded.spec
    canary = env.rollout.strategy == "canary"
    if spec.load.cluster is None:
        return {"load_metric": None, "load_canary_service": False, "load_resource": None,
                "load_before_users": False}
    resource = (f"../../load/{env.name}" if argocd_hook(spec, env)
                else "../../load/config" if canary else None)
    return {"load_metric": canary_metric(ctx, env, common, cluster) if canary else None,
            "load_canary_service": canary and env.rollout.traffic is None,
            "load_before_users": canary and env.rollout.traffic is not None,
            "load_resource": resource, "service_port": cluster.service_port}


def flux_file(ctx: RenderContext, root: PurePosixPath, env: Environment, index: int,
              common: dict[str, object], cluster: Cluster) -> GeneratedFile | None:
    """Flux's stand-in for a PostSync hook: a Kustomization applied after the environment's
    (None where `flux_load` says Flux runs none)."""
    spec = ctx.loaded.spec
    if not flux_load(spec, env):
        return None
    test = load_test(spec, env, DerivedNames(spec).model, cluster.service_port)
    return GeneratedFile(root / "flux" / f"{env.name}-load.yaml",
                         _render(ctx, "flux-kustomization.yaml", common, env=env, test=test,
                                 path=str(root / "load" / env.name)),
                         ("deploy", "environments", index))

