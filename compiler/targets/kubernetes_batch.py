"""Batch scoring on a schedule inside the cluster (`batch.schedule`): `mlops predict` as a
Kubernetes CronJob (local engine) or a KubeRay RayCronJob (ray engine).

`generated/k8s/batch/` holds the job, its ServiceAccount and NetworkPolicy; the overlay of ONE
environment (`batch.environment`, default the last: the model that serves users is the one that
scores) includes it, so the job gets that namespace and the image digest the release workflow pins
there: batch predictions always come from the released model. Running it in every environment
would score the same input into the same output twice.

Each run writes its own folder under `batch.output` (`mlops predict` refuses a folder that already
holds predictions, so a fixed folder would fail every run after the first):
- CronJob: `<output>/<Job name>`. The CronJob names each Job after its scheduled time (minutes since
  the epoch), and the pod reads that name from its `batch.kubernetes.io/job-name` label (downward
  API), which Kubernetes substitutes for `$(MLOPS_BATCH_RUN)` in the command: a retried pod writes
  the same run's folder, and a run by hand (`kubectl create job --from=cronjob/...`) its own.
- RayCronJob: `<output>/<UTC start time>`. The entrypoint is a shell command line (KubeRay submits it
  with `ray job submit`, Ray runs it with a shell on the head), so `$(date ...)` names the folder.

Why a RayCronJob: KubeRay's RayJob has no schedule in any release (a `spec.schedule` was merged and
reverted, kuberay#3836/#3908); KubeRay 1.6 schedules RayJobs with its own RayCronJob (alpha, behind
the operator's `RayCronJob` feature gate), which skips a run while the previous one is active (as
`concurrencyPolicy: Forbid`). A CronJob that creates RayJobs would need a token allowed to create
custom resources in the namespace: not generated.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from mlops.compiler.plan import GeneratedFile, RenderContext
from mlops.spec.container import APP_DIR, VENV_DIR
from mlops.spec.errors import SpecError
from mlops.spec.kubernetes_names import CRONJOB_NAME_MAX, fit
from mlops.spec.models import BatchScoring, DataEngine, Environment, Resources, Spec

RAY_NODE = "ray[default]"
"""The Ray a cluster node runs: with its dashboard (the job API) and the autoscaler's tools."""
RUN_VARIABLE = "MLOPS_BATCH_RUN"
"""The CronJob container's environment variable holding its Job's name (the run folder)."""
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
"""The label the Job controller puts on a Job's pods (Kubernetes 1.27+)."""
RAY_RUN_FOLDER = "$(date -u +%Y%m%dT%H%M%SZ)"
"""The RayCronJob entrypoint's run folder: the start time, expanded by the shell."""
RAYJOB_NAME_MAX = 47
"""KubeRay refuses a RayJob name over 47 characters (its RayCluster and Services add suffixes)."""
RAYCRONJOB_NAME_MAX = RAYJOB_NAME_MAX - len("rayjob-") - len("-12345678")
"""A RayCronJob names each RayJob `rayjob-<name>-<minutes since the epoch>` (8 digits)."""
HISTORY_SECONDS = 86400
"""How long a finished Job is kept for its logs."""
CLUSTER_TTL_SECONDS = 600
"""How long a finished RayJob's Ray cluster is kept (its pods hold CPU and memory until then)."""
SUBMITTER_RESOURCES = Resources(cpu="100m", memory="256Mi", cpu_limit="500m", memory_limit="512Mi")
"""The RayJob's submitter pod only runs `ray job submit` and follows the logs."""
DASHBOARD_PORT = 8265
"""The Ray head's dashboard: the job submitter and the KubeRay operator call it."""
RAYLET_HEALTH = "http://127.0.0.1:52365/api/local_raylet_healthz"
"""The dashboard agent's raylet check on every Ray node (what KubeRay's own probes ask)."""
GCS_HEALTH = f"http://127.0.0.1:{DASHBOARD_PORT}/api/gcs_healthz"
"""The head's GCS check, on its dashboard."""
OPERATOR_LABEL = {"app.kubernetes.io/name": "kuberay-operator"}
"""The KubeRay operator's pods (its Helm chart's label), allowed to poll the dashboard."""


@dataclass(frozen=True)
class BatchJob:
    """What the scheduled run is: its engine, environment, name and command."""

    batch: BatchScoring
    engine: DataEngine
    env: Environment
    name: str
    """The CronJob's or RayCronJob's name (and its ServiceAccount's and NetworkPolicy's)."""
    spec_file: str

    @property
    def ray(self) -> bool:
        return self.engine == "ray"

    @property
    def deadline_seconds(self) -> int:
        return math.ceil(self.batch.deadline)

    @property
    def output_prefix(self) -> str:
        return self.batch.output.rstrip("/")

    @property
    def command(self) -> tuple[str, ...]:
        """The CronJob container's command (no shell: Kubernetes substitutes `$(VAR)`)."""
        return ("mlops", "predict", str(APP_DIR / self.spec_file), "--engine", "local",
                "--output", f"{self.output_prefix}/$({RUN_VARIABLE})")

    @property
    def entrypoint(self) -> str:
        """The RayCronJob's entrypoint: a shell command line run on the Ray head, which joins
        its own cluster (`--address auto`: Ray sets RAY_ADDRESS for a job's driver)."""
        words = ("mlops", "predict", str(APP_DIR / self.spec_file), "--engine", "ray",
                 "--address", "auto", "--output")
        return " ".join(words) + f" {self.output_prefix}/{RAY_RUN_FOLDER}"


@dataclass(frozen=True)
class RayProbes:
    """Health commands of the Ray head and workers: each URL must answer 'success'."""

    head: tuple[str, ...]
    worker: tuple[str, ...]


def health_command(*urls: str) -> tuple[str, ...]:
    """A probe run with the image's Python (no wget or curl in a slim image), by its path: the
    base image's own interpreter is `python3` and has no Ray."""
    check = ("import sys, urllib.request; sys.exit(any(b'success' not in "
             "urllib.request.urlopen(url, timeout=4).read() for url in sys.argv[1:]))")
    return ((VENV_DIR / "bin" / "python").as_posix(), "-c", check, *urls)


RAY_PROBES = RayProbes(health_command(GCS_HEALTH, RAYLET_HEALTH), health_command(RAYLET_HEALTH))


def image_extras(spec: Spec) -> tuple[str, ...]:
    """What the image adds for a scheduled run: `mlops predict` reads and writes Parquet with
    pyarrow and scores with onnxruntime (the `monitor` extra), and with ray the image is also
    every Ray node (`ray`). Without batch.schedule the server image stays lean."""
    if not scheduled(spec):
        return ()
    return ("monitor", "ray") if batch_engine(spec) == "ray" else ("monitor",)


def image_requirements(spec: Spec) -> tuple[str, ...]:
    """What a Ray node needs beyond the `ray` extra (Ray Client): the dashboard, whose job API
    `ray job submit` (KubeRay's submitter) calls on the head. pip resolves it to the same Ray."""
    return (RAY_NODE,) if "ray" in image_extras(spec) else ()


def batch_engine(spec: Spec) -> DataEngine:
    """batch.engine, else data.engine (as `mlops predict` chooses)."""
    assert spec.batch is not None
    return spec.batch.engine or spec.data.engine


def scheduled(spec: Spec) -> bool:
    """Whether the cluster runs `mlops predict` (batch.schedule); without it, nothing is made."""
    return spec.batch is not None and spec.batch.schedule is not None


def batch_job(ctx: RenderContext) -> BatchJob | None:
    """The scheduled run, or None without batch.schedule; a located error for an output the Ray
    entrypoint cannot carry."""
    loaded = ctx.loaded
    spec = loaded.spec
    batch = spec.batch
    if batch is None or batch.schedule is None:
        return None
    environments = spec.deploy.environments
    index = len(environments) - 1  # a batch.environment the spec does not deploy to: semantic.py
    if batch.environment is not None:
        index = [env.name for env in environments].index(batch.environment)
    engine = batch_engine(spec)
    if engine == "ray" and shlex.quote(batch.output) != batch.output:
        raise SpecError([loaded.source.diagnostic(
            ("batch", "output"),
            f"{batch.output!r} has characters a shell would read (the Ray job's entrypoint is a "
            "shell command line): use letters, digits and _ @ % + = : , . / - only")])
    limit = RAYCRONJOB_NAME_MAX if engine == "ray" else CRONJOB_NAME_MAX
    return BatchJob(batch, engine, environments[index], fit(f"{spec.name}-batch", limit),
                    loaded.path.name)


def overlay_resource(ctx: RenderContext, env: Environment) -> str | None:
    """`../../batch` for the environment that runs the scheduled job, else None."""
    job = batch_job(ctx)
    return "../../batch" if job is not None and job.env.name == env.name else None


def files(ctx: RenderContext, root: PurePosixPath, common: dict[str, object], user: int,
          group: int) -> Iterator[GeneratedFile]:
    """generated/k8s/batch/: the job, its ServiceAccount and NetworkPolicy, a kustomization."""
    job = batch_job(ctx)
    if job is None:
        return
    workload = "raycronjob.yaml" if job.ray else "cronjob.yaml"
    variables = {**common, "job": job, "user": user, "group": group,
                 "run_variable": RUN_VARIABLE, "job_name_label": JOB_NAME_LABEL,
                 "history_seconds": HISTORY_SECONDS, "dashboard_port": DASHBOARD_PORT,
                 "cluster_ttl_seconds": CLUSTER_TTL_SECONDS,
                 "submitter_resources": SUBMITTER_RESOURCES, "ray_probes": RAY_PROBES,
                 "operator_label": OPERATOR_LABEL, "workload": workload}
    origin = ("batch", "schedule")
    for name in ("serviceaccount.yaml", "networkpolicy.yaml", workload, "kustomization.yaml"):
        yield GeneratedFile(root / "batch" / name,
                            ctx.render(f"kubernetes/batch/{name}.j2", **variables), origin)
