"""The mlops.yaml schema: strict pydantic models, one class per section.

Field descriptions double as the README's spec reference (`mlops docs`), so keep them short and
user-facing. Cross-field rules that need the whole spec live in `semantic.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    create_model,
    field_validator,
    model_validator,
)

from mlops.core.catalogue import (
    BENCH_STAT_NAMES,
    LOAD_STAT_NAMES,
    LOAD_STATISTICS,
    METRIC_NAMES,
    DriftMethod,
    MetricName,
    Statistic,
)
from mlops.core.contract import ColumnRule
from mlops.core.contract import ColumnType as ColumnType
from mlops.core.contract import Task as Task
from mlops.core.locations import GLOB, check_location, scheme

from .threshold import THRESHOLD_JSON_SCHEMA, Operator, Severity, Threshold
from .types import (
    CpuQuantity,
    Cron,
    Duration,
    Fraction,
    MemoryQuantity,
    RelPath,
    Slug,
    ThresholdField,
    Unique,
    _relative_path,
)

AlertAction = Literal["open_issue", "retrain"]


def _moved_to(key: str) -> Callable[[Any], Any]:
    """A validator for a key that moved: writing it is an error that says where it went."""
    def moved(value: Any) -> Any:
        raise ValueError(f"moved to {key}: one install source now serves every workflow and the "
                         "Dockerfile")
    return moved


class Strict(BaseModel):
    """Unknown keys are errors: a typo must never be silently ignored.

    Validators are built on first use (`defer_build`): `Spec` builds the whole tree once, instead
    of every section building its own at import and `Spec` building them all again.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True,
                              json_schema_extra={"patternProperties": {"^x-": {}}})

    @model_validator(mode="before")
    @classmethod
    def _drop_extension_keys(cls, data: Any) -> Any:
        """`x-` keys (as in Compose files) hold blocks a team shares through YAML anchors and
        merge keys; they are not settings. Only sections drop them: a column named `x-ray` stays."""
        if isinstance(data, dict):
            return {key: value for key, value in data.items()
                    if not (isinstance(key, str) and key.startswith("x-"))}
        return data


def _thresholds(name: str, fields: tuple[str, ...]) -> type[Strict]:
    """A section with one optional threshold per name, in order. The names are declared once, in
    `core.catalogue`, so these fields are generated from it rather than written again here."""
    definitions: dict[str, Any] = {field: (ThresholdField | None, None) for field in fields}
    return create_model(name, __base__=Strict, __module__=__name__, **definitions)


if TYPE_CHECKING:  # the fields are read by name (`Metrics.thresholds`, `LoadThresholds.thresholds`)
    _MetricThresholds = Strict
    _LoadThresholds = Strict
else:
    _MetricThresholds = _thresholds("_MetricThresholds", METRIC_NAMES)
    _LoadThresholds = _thresholds("_LoadThresholds", LOAD_STAT_NAMES)


# --- data ------------------------------------------------------------------------------------


class Column(Strict):
    """One column of the data: its type and the values it may take."""

    dtype: ColumnType = Field(description="Column type.")
    nullable: bool = Field(False, description="Whether missing values are allowed.")
    min: float | None = Field(None, description="Smallest allowed value (numeric columns).")
    max: float | None = Field(None, description="Largest allowed value (numeric columns).")
    allowed: list[str | int | float | bool] | None = Field(
        None, description="The only allowed values (categorical or integer columns)."
    )
    null_value: str = Field(
        "", description="What a null of a nullable str/category column becomes when it is fed to "
                        "a string model input (train the model with the same placeholder).",
    )
    description: str | None = Field(None, description="Free text for humans.")

    def rule(self, name: str) -> ColumnRule:
        """This column as the model contract and the server's schema enforcement see it."""
        return ColumnRule(name, self.dtype, self.nullable,
                          tuple(self.allowed) if self.allowed is not None else None,
                          self.min, self.max, self.null_value)


class QualityChecks(Strict):
    """Dataset-level quality rules checked by the data gate."""

    min_rows: int = Field(1, ge=0, description="Fewest rows each split may have.")
    max_null_fraction: Fraction = Field(0.0, description="Largest fraction of nulls per column.")
    max_duplicate_fraction: Fraction = Field(1.0, description="Largest fraction of duplicate rows.")
    min_class_fraction: Fraction | None = Field(
        None, description="Smallest share of any target class (classification only)."
    )


class DriftRules(Strict):
    """How `current` is compared with `reference`, per feature and for the whole dataset."""

    method: DriftMethod = Field("psi", description="Statistic per numeric feature.")
    threshold: float = Field(
        0.2, gt=0,
        description="A feature drifts when its score exceeds this (ks: when its p-value is below it). "
                    "Wasserstein is divided by the reference's standard deviation; on categorical "
                    "columns ks uses chi2 and wasserstein uses jensen_shannon.",
    )
    feature_severity: Severity = Field(
        "error", description="What one drifted feature does to the gate: error fails it, warn only "
                             "warns (max_drifted_features still fails)."
    )
    max_drifted_features: Fraction = Field(
        0.3, description="Largest fraction of drifted features before the dataset counts as drifted."
    )
    features: list[str] | None = Field(None, description="Features to check (default: all).")
    bins: int = Field(10, ge=2, le=1000, description="Histogram bins for psi and jensen_shannon.")


DataEngine = Literal["local", "ray"]


def _data_location(value: str) -> str:
    """A split is a file, a folder, a glob or a Hive-partitioned folder: relative to the spec's
    folder, or an object-store URI (not opened at validation: that needs no network)."""
    return check_location(value) if scheme(value) else _relative_path(value)


DataPath = Annotated[str, AfterValidator(_data_location)]


class Data(Strict):
    """Where the data lives and what it must look like."""

    format: Literal["csv", "parquet"] = Field("csv", description="File format of every split.")
    train: DataPath = Field(description="Training split: a file, a folder, a glob or a "
                                        "Hive-partitioned folder, or an s3://, gs:// or abfs:// URI "
                                        "(credentials from the environment).")
    test: DataPath = Field(description="Held-out test split the model gate evaluates on.")
    reference: DataPath | None = Field(None, description="Baseline distribution for drift "
                                       "(default: the training split).")
    current: DataPath | None = Field(None, description="A fresh batch checked for drift.")
    engine: DataEngine = Field("local", description="Where the data gate and the monitor tally "
                               "the data's parts: local (this machine's cores) or ray (one Ray "
                               "task per part; the ray extra).")
    ray_address: str | None = Field(None, description="Ray cluster to join with engine: ray, e.g. "
                                    "ray://head:10001 (default: RAY_ADDRESS, else a cluster started "
                                    "on this machine).")
    target: str = Field(description="Name of the label column.")
    columns: dict[str, Column] = Field(alias="schema", min_length=1,
                                       description="Every column in model input order, then the target.")
    checks: QualityChecks = Field(default_factory=QualityChecks, description="Quality rules.")
    drift: DriftRules = Field(default_factory=DriftRules, description="Drift rules.")

    @property
    def features(self) -> list[str]:
        """Model inputs in order: every schema column except the target."""
        return [name for name in self.columns if name != self.target]

    def feature_rules(self) -> list[ColumnRule]:
        """The model's input columns with their schema rules, in order."""
        return [self.columns[name].rule(name) for name in self.features]

    @property
    def reference_path(self) -> str:
        return self.reference or self.train


# --- model -----------------------------------------------------------------------------------


class NativeModel(Strict):
    """The model in its training framework, for ONNX parity checks."""

    framework: Literal["sklearn", "torch"] = Field(description="Training framework.")
    path: RelPath = Field(
        description="Saved native model: joblib for sklearn; for torch a state dict, loaded into the "
                    "module that `build_model()` in the model.train script returns.",
    )


class Baseline(Strict):
    """The model the candidate must not regress against."""

    ref: str = Field("origin/main", min_length=1, description="Git ref holding the baseline model.")
    metrics: RelPath | None = Field(None, description="Saved metrics JSON at that ref, if any.")


class Reproducible(Strict):
    """Retrain from the commit being gated and compare with the candidate (a model gate check)."""

    compare: Literal["bytes", "predictions"] = Field(
        "bytes", description="bytes: the retrained ONNX file must be bit-identical; predictions "
                             "(for a framework that is not bit-reproducible): its test-set "
                             "probabilities (or values) must agree within atol.",
    )
    atol: float = Field(1e-6, ge=0, description="Largest absolute difference of a probability "
                                                "(or value), with compare: predictions.")
    max_mismatch_fraction: Fraction = Field(
        0.0, description="Largest fraction of test rows allowed to differ by more than atol."
    )


def _reproducible_shorthand(value: Any) -> Any:
    """`true` means the default check (bit-identical bytes), `false` none."""
    if isinstance(value, bool):
        return {} if value else None
    return value


def _reproducible_json_schema(schema: dict[str, Any]) -> None:
    """Editors accept the shorthand too: a boolean besides the mapping and null."""
    schema["anyOf"] = [{"type": "boolean"}, *schema["anyOf"]]


class Model(Strict):
    """The ONNX artifact that is gated, served and monitored."""

    task: Task = Field(description="What the model predicts.")
    artifact: RelPath = Field(
        description="ONNX file: one numeric input [batch, n_features] taking every feature in "
                    "schema order, or one input per column named as the column (float, int, bool "
                    "or string tensors, [batch, 1] or [batch]).",
    )
    output: str | None = Field(
        None, description="Graph output holding the answer (class probabilities, or the value "
                          "for regression); default: chosen from the graph, which must then have "
                          "exactly one candidate.",
    )
    train: str | None = Field(None, description="Shell command that (re)produces the artifact.")
    source: NativeModel | None = Field(None, description="Native model for ONNX parity.")
    baseline: Baseline | None = Field(default_factory=Baseline, description="Regression baseline.")
    labels: list[str] | None = Field(None, description="Class names in output order.")
    reproducible: Annotated[Reproducible | None, BeforeValidator(_reproducible_shorthand)] = Field(
        None, json_schema_extra=_reproducible_json_schema,
        description="Retrain from the commit (needs model.train) and compare with the candidate; "
                    "`true` is short for `{compare: bytes}`.",
    )


# --- metrics ---------------------------------------------------------------------------------


class Slice(Strict):
    """A metric that must hold on a subset of the test data."""

    by: str = Field(description="Row filter 'feature OP number', e.g. 'mean_radius > 15'.")
    metric: MetricName = Field(description="Metric computed on the slice.")
    threshold: ThresholdField = Field(description="Pass condition, e.g. '>= 0.9'.")


class GroupGap(Strict):
    """Fairness: the metric may differ by at most `max_gap` between groups of a column."""

    column: str = Field(description="Column whose values define the groups.")
    metric: MetricName = Field(description="Metric compared across groups.")
    max_gap: float = Field(gt=0, description="Largest allowed best-minus-worst difference.")


class Parity(Strict):
    """ONNX vs native model agreement."""

    atol: float = Field(1e-4, gt=0, description="Largest absolute difference of scores.")
    max_mismatch_fraction: Fraction = Field(
        0.0, description="Largest fraction of rows whose predicted label differs."
    )


class Robustness(Strict):
    """Property tests run with hypothesis under a fixed seed."""

    examples: int = Field(200, ge=10, le=100_000, description="Generated examples per property.")
    noise: float = Field(0.01, ge=0, description="Relative noise added to numeric inputs.")
    perturb: dict[str, Literal["noise", "swap", "keep"]] = Field(
        default_factory=dict,
        description="Per feature: noise (scale by 1 ± noise), swap (another allowed value) or keep; "
                    "default: noise for float and int columns without allowed values, swap for "
                    "the rest.",
    )
    max_flip_fraction: Fraction = Field(0.05, description="Largest fraction of flipped predictions.")
    seed: int = Field(0, description="Seed for reproducible runs.")


class Metrics(_MetricThresholds):
    """Pass conditions on the model's test-set metrics."""

    no_regression: dict[MetricName, float] = Field(
        default_factory=dict, description="Largest allowed drop (or rise, for errors) vs baseline."
    )
    slices: list[Slice] = Field(default_factory=list, description="Metrics on data subsets.")
    group_gaps: list[GroupGap] = Field(default_factory=list, description="Fairness gaps.")
    parity: Parity = Field(default_factory=Parity, description="ONNX vs native agreement.")
    robustness: Robustness = Field(default_factory=Robustness, description="Property tests.")

    def thresholds(self) -> dict[str, ThresholdField]:
        """The metric thresholds that are set, in declaration order."""
        return {name: value for name in METRIC_NAMES if (value := getattr(self, name)) is not None}


# --- benchmark and load ----------------------------------------------------------------------


class Benchmark(Strict):
    """ONNX Runtime inference benchmark."""

    batch_sizes: list[int] = Field(default_factory=lambda: [1, 64], min_length=1,
                                   description="Batch sizes to time.")
    warmup: int = Field(20, ge=0, description="Untimed runs before measuring.")
    iterations: int = Field(200, ge=1, description="Timed runs per batch size.")
    threads: int = Field(1, ge=0, description="ONNX Runtime intra-op threads (0: all cores).")
    thresholds: dict[str, ThresholdField] = Field(
        default_factory=dict,
        description=f"'STAT@BATCH' -> condition; STAT is {', '.join(BENCH_STAT_NAMES[:-1])} or "
                    f"{BENCH_STAT_NAMES[-1]}.",
    )
    max_slowdown: float | None = Field(
        None, gt=0, description="Largest allowed candidate/baseline p50 latency ratio."
    )


class LoadThresholds(_LoadThresholds):
    """Service-level objectives of the load test."""

    def thresholds(self) -> dict[str, ThresholdField]:
        """The SLOs that are set, in declaration order."""
        return {name: value for name in LOAD_STAT_NAMES if (value := getattr(self, name)) is not None}


DEFAULT_MAX_REGRESSION: dict[str, float] = {"p95_ms": 1.5, "rps": 0.67}
"""Measured by `python -m bench load_compare` on 2 cores: ten runs of an unchanged model gave p95
ratios 0.87-1.13 and throughput ratios 0.91-1.20; a model 30 dense layers bigger, 3.6-4.1 and
0.27-0.29."""
_RATIO_JSON_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "number", "exclusiveMinimum": 0}, *THRESHOLD_JSON_SCHEMA["anyOf"]]}


def _ratio_field(statistic: Statistic) -> tuple[Any, Any]:
    """A limit on candidate / baseline for one statistic: a threshold, or a bare number meaning
    'no worse than this' ('<= n' for latencies and the error rate, '>= n' for throughput)."""
    op: Operator = ">=" if statistic.higher_is_better else "<="

    def number_as_threshold(value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"expr": f"{op} {float(value)!r}"}
        return value

    default = DEFAULT_MAX_REGRESSION.get(statistic.name)
    kind = Annotated[Threshold | None, BeforeValidator(number_as_threshold),
                     WithJsonSchema(_RATIO_JSON_SCHEMA)]
    return kind, Field(
        None if default is None else Threshold.of(op, default),
        description=f"The candidate's {statistic.label} over the baseline's; a number n means "
                    f"'{op} n'.")


if TYPE_CHECKING:  # the fields are read by name (`LoadRegression.limits`)
    _LoadRegression = Strict
else:
    _LoadRegression = create_model(
        "_LoadRegression", __base__=Strict, __module__=__name__,
        **{statistic.name: _ratio_field(statistic) for statistic in LOAD_STATISTICS})


class LoadRegression(_LoadRegression):
    """How much worse than the baseline model (`model.baseline.ref`) the candidate may do.

    Both are served and loaded in the same run; `null` drops a limit."""

    def limits(self) -> dict[str, ThresholdField]:
        """The limits that are set, in the catalogue's order."""
        return {name: value for name in LOAD_STAT_NAMES if (value := getattr(self, name)) is not None}


class ClusterLoad(Strict):
    """The same load test as Kubernetes Jobs: a Locust master and workers in every environment."""

    workers: int = Field(2, ge=1, le=64, description="Worker pods (the worker Job's parallelism).")
    rows: int = Field(
        1000, ge=1, le=10_000,
        description="First rows of data.test copied into the load test's ConfigMap at compile time "
                    "(data.test must exist then); together they must fit its 1 MiB.")


class Load(Strict):
    """Locust load test against the real inference server on 127.0.0.1."""

    users: int = Field(10, ge=1, le=1000, description="Concurrent simulated users.")
    spawn_rate: float = Field(10, gt=0, description="Users started per second.")
    duration: Duration = Field(20.0, description="How long to run, e.g. '20s'.")
    rows_per_request: int = Field(1, ge=1, le=10_000, description="Rows in each request.")
    workers: int = Field(0, ge=0, le=16, description="0: one local process; N: master + N workers.")
    thresholds: LoadThresholds = Field(default_factory=LoadThresholds, description="SLOs.")
    max_regression: LoadRegression = Field(
        default_factory=LoadRegression,
        description="Limits against the baseline model, loaded in the same run.")
    rounds: int = Field(
        4, ge=1, le=20,
        description="With a baseline: alternating rounds per model (at least 2 s each), so each "
                    "model runs about `duration` in all and the gate takes about twice as long.")
    cluster: ClusterLoad | None = Field(
        None, description="Also run it in the cluster (generated/k8s/load/): against each "
                          "environment's Service, a canary's own Service before promotion, and "
                          "staging after each sync.")


# --- serving ---------------------------------------------------------------------------------


def _upload_prefix(value: str) -> str:
    """serving.request_log.upload: an object-store prefix; the local folder is `path`."""
    if scheme(value) is None:
        raise ValueError(f"expected an s3://, gs:// or abfs:// URI (the local folder is "
                         f"request_log.path), got {value!r}")
    if GLOB.search(value):
        raise ValueError(f"expected a prefix without wildcards, got {value!r}")
    return check_location(value)


class RequestLog(Strict):
    """Sampled request/prediction logging for the monitor job."""

    path: str = Field(
        "/var/log/mlops",
        description="Folder for the log files: absolute, or relative to the spec's folder (the app "
                    "folder /app in the image); the container mounts a writable volume there.",
    )
    sample_rate: Fraction = Field(0.1, description="Fraction of requests logged.")
    format: Literal["jsonl", "parquet"] = Field("jsonl", description="File format.")
    rotate_mb: int = Field(64, ge=1, description="Start a new file after this many MiB.")
    claim: Slug | None = Field(
        None, description="Existing ReadWriteMany PersistentVolumeClaim shared by the server pods and "
                          "the monitor CronJob; without it the log is pod-local and the in-cluster "
                          "monitor cannot read it.",
    )
    upload: Annotated[str, AfterValidator(_upload_prefix)] | None = Field(
        None, description="Object-store prefix (s3://, gs:// or abfs://) each closed log file is "
                          "uploaded to, under <prefix>/<pod name>/, and deleted locally once "
                          "there; the monitor reads the log from it, so no volume is shared. "
                          "Credentials come from the environment (AWS_*, "
                          "GOOGLE_APPLICATION_CREDENTIALS, AZURE_*).",
    )
    rotate_after: Duration = Field(
        300.0, description="With upload: also start a new file this long after the last one "
                           "opened, so the bucket is never further behind (a file is uploaded "
                           "once closed).",
    )
    buffer_mb: int = Field(
        512, ge=1, description="With upload: most MiB of closed files a server process keeps "
                               "while the object store is unreachable; beyond it the oldest are "
                               "deleted, and logged as lost.",
    )

    @model_validator(mode="after")
    def _one_way_to_share(self) -> RequestLog:
        if self.claim is not None and self.upload is not None:
            raise ValueError("set claim or upload, not both: upload ships the log to object "
                             "storage, where the monitor reads it; a claim shares a volume")
        return self


GITHUB_OIDC_ISSUER = "https://token.actions.githubusercontent.com"
"""The issuer of the identity GitHub Actions workflows sign with (keyless, Sigstore)."""


class Verify(Strict):
    """Who must have signed the model: the server refuses a model unsigned, signed by another, or changed.

    Signatures are OpenSSF model-signing's Sigstore bundles (`mlops sign`, `mlops verify`).
    """

    public_key: RelPath | None = Field(
        None, description="PEM public key (elliptic curve) of the key the model was signed with, "
                          "e.g. with `mlops sign --key`: key mode, verified offline.",
    )
    identity: str | None = Field(
        None, description="Sigstore signer identity (keyless), e.g. the release workflow's "
                          "'https://github.com/OWNER/REPO/.github/workflows/mlops-NAME-release.yml"
                          "@refs/heads/main', which then signs the model and attests the image "
                          "(with GitHub's issuer). Checked offline, against the Sigstore trust "
                          "root the installed sigstore package ships.",
    )
    issuer: str = Field(GITHUB_OIDC_ISSUER, min_length=1,
                        description="OIDC issuer of the identity.")
    signature: RelPath | None = Field(
        None, description="Signature file (a Sigstore bundle; default: the artifact's path "
                          "followed by '.sig').",
    )

    def signature_path(self, artifact: str) -> str:
        """Where the signature of `artifact` is (spec-relative)."""
        return self.signature or f"{artifact}.sig"


class Challenger(Strict):
    """A second model judged on real traffic beside the served one (the champion).

    It runs as its own deployment (`mlops serve --variant challenger`); both log every request
    under the same request id, and `mlops monitor run` compares their answers (monitors.challenger).
    """

    model: RelPath = Field(
        description="ONNX file of the challenger: the same contract as model.artifact (inputs, "
                    "task, classes).",
    )
    output: str | None = Field(
        None, description="Graph output holding the challenger's answer (default: model.output, "
                          "or chosen from the graph).",
    )
    mode: Literal["shadow", "ab"] = Field(
        description="shadow: a copy of the traffic is mirrored to the challenger and its answers "
                    "are discarded; ab: the challenger answers a share of the users.",
    )
    percent: int = Field(
        10, ge=1, le=100,
        description="shadow: share of requests mirrored (%); ab: share of traffic the challenger "
                    "answers (%, below 100).",
    )
    header: str | None = Field(
        None, pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$",
        description="ab only: a request header (lowercase) whose value 'challenger' sends the "
                    "request to the challenger whatever the weight.",
    )


class Serving(Strict):
    """The inference server (`mlops serve`), as the container runs it."""

    port: int = Field(8080, ge=1024, le=65535, description="Port inside the container.")
    workers: int = Field(1, ge=1, le=64, description="Server processes.")
    threads: int = Field(1, ge=0, description="ONNX Runtime intra-op threads per process.")
    max_batch_size: int = Field(32, ge=1, description="Most rows coalesced into one model run.")
    max_batch_delay_ms: float = Field(2.0, ge=0, description="Longest wait to fill a batch.")
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Largest request body.")
    allow_non_finite: bool = Field(False, description="Accept NaN and Inf inputs.")
    on_schema_violation: Literal["reject", "log"] = Field(
        "reject", description="A request value outside data.schema (type, allowed values, "
                              "min/max, null in a non-nullable column): reject answers 422 naming "
                              "the row, the feature and the rule; log answers anyway and counts it "
                              "in mlops_schema_violations_total (a value of the wrong type is "
                              "always rejected).",
    )
    request_log: RequestLog | None = Field(None, description="Sampled request logging.")
    base_image: str = Field(
        "python:3.11.14-slim-bookworm",
        description="Base image of the generated Dockerfile; pin it by digest ('name@sha256:...').",
    )
    verify: Verify | None = Field(
        None, description="Check the model's signature before serving (unset: served unverified, "
                          "with a warning).",
    )
    challenger: Challenger | None = Field(
        None, description="A second model served beside this one in shadow or A/B mode, judged by "
                          "monitors.challenger.",
    )

    def signatures(self, artifact: str) -> dict[str, str]:
        """Each served model (model.artifact, then the challenger's) -> its signature file: the
        champion's where serving.verify.signature says, the challenger's beside it (`.sig`).
        Empty without serving.verify."""
        if self.verify is None:
            return {}
        found = {artifact: self.verify.signature_path(artifact)}
        if self.challenger is not None:
            found[self.challenger.model] = f"{self.challenger.model}.sig"
        return found


# --- deploy ----------------------------------------------------------------------------------


class Resources(Strict):
    """Container resource requests; limits default to the requests."""

    cpu: CpuQuantity = Field("500m", description="CPU request.")
    memory: MemoryQuantity = Field("512Mi", description="Memory request.")
    cpu_limit: CpuQuantity | None = Field(None, description="CPU limit (default: the request).")
    memory_limit: MemoryQuantity | None = Field(None, description="Memory limit (default: the request).")


class Autoscale(Strict):
    """HorizontalPodAutoscaler on CPU utilisation."""

    min: int = Field(1, ge=1, description="Fewest replicas.")
    max: int = Field(ge=1, description="Most replicas.")
    cpu_percent: int = Field(70, ge=1, le=100, description="Target CPU utilisation of the request.")


Hostname = Annotated[str, Field(
    pattern=r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
    max_length=253)]
"""A DNS name, optionally behind one wildcard label (`*.example.com`), as Gateway API and
Ingress hosts take it."""


class Gateway(Strict):
    """A Gateway API Gateway that already exists in the cluster."""

    name: Slug = Field(description="Gateway name.")
    namespace: Slug = Field(description="Gateway namespace (it must allow routes from the "
                                        "environment's namespace).")


class Traffic(Strict):
    """The traffic router a canary's weights (and a challenger's share) are set through.

    Argo Rollouts sets each step's weight on the router's object: an HTTPRoute (Gateway API,
    through the argoproj-labs gatewayAPI plugin), an Istio VirtualService, or an NGINX Ingress.
    """

    router: Literal["gateway_api", "istio", "nginx"] = Field(
        description="gateway_api (HTTPRoute), istio (VirtualService) or nginx (Ingress).")
    hosts: Unique[Hostname] = Field(
        min_length=1, description="Host names the route answers (HTTPRoute hostnames, "
                                  "VirtualService hosts, Ingress rule hosts).")
    gateway: Gateway | None = Field(
        None, description="gateway_api: the Gateway the HTTPRoute attaches to (required); istio: "
                          "the Istio Gateway of the VirtualService (unset: mesh traffic only).")
    ingress_class: Slug | None = Field(
        None, description="nginx: IngressClass of the NGINX ingress controller (required).")


class Rollout(Strict):
    """How a new version replaces the old one."""

    strategy: Literal["rolling", "canary"] = Field("rolling", description="rolling or canary "
                                                   "(Argo Rollouts).")
    steps: list[int] = Field(default_factory=lambda: [10, 50, 100],
                             description="Canary traffic percentages, ending at 100.")
    pause: Duration = Field(60.0, description="Analysis time at each canary step.")
    traffic: Traffic | None = Field(
        None, description="Canary only: the router that sets each step's traffic weight (unset: "
                          "weights approximated by replica counts behind one Service).")


class Environment(Strict):
    """One deployment target; becomes a kustomize overlay."""

    name: Slug = Field(description="Environment name (also the overlay folder).")
    kind: Literal["kubernetes"] = Field("kubernetes", description="Deployment platform.")
    namespace: Slug = Field(description="Kubernetes namespace.")
    replicas: int = Field(1, ge=1, le=1000, description="Replicas (without autoscaling).")
    resources: Resources = Field(default_factory=Resources, description="Requests and limits.")
    autoscale: Autoscale | None = Field(None, description="Autoscaling; off when absent.")
    approval: Literal["none", "required"] = Field("none", description="Reviewer approval "
                                                  "before deploying.")
    rollout: Rollout = Field(default_factory=Rollout, description="Rollout strategy.")


class Deploy(Strict):
    """Image and environments, promoted GitOps-style."""

    image: str = Field(pattern=r"^[a-z0-9]+([._/-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$",
                       description="Image repository, without tag.")
    environments: list[Environment] = Field(min_length=1, description="In promotion order.")
    gitops: Literal["argocd", "flux", "none"] = Field("none", description="GitOps controller.")
    repository: str | None = Field(None, description="Git URL the GitOps controller syncs from.")
    branch: str = Field("main", description="Branch the GitOps controller syncs from.")
    repository_secret: Slug | None = Field(
        None, description="Flux: Secret in flux-system with the Git credentials (ssh: identity, "
                          "known_hosts; https: username, password); default for an ssh:// "
                          "repository: '<name>-git'. Argo CD finds credentials by URL.",
    )
    promotion: Literal["push", "pull_request"] = Field(
        "push", description="How the release workflow pins a new image in an environment's overlay: "
                            "push a commit to the branch, or open a pull request and wait for its "
                            "merge before the next environment (for protected branches).",
    )


# --- monitors --------------------------------------------------------------------------------


class MonitorDrift(Strict):
    """Input drift of served traffic against the reference data."""

    method: DriftMethod = Field("psi", description="Statistic per feature.")
    threshold: float = Field(0.2, gt=0, description="A feature drifts above this.")
    max_drifted_features: Fraction = Field(0.3, description="Alert above this fraction.")


class MonitorLatency(Strict):
    """Latency alert from the server's histogram."""

    p95_ms: float = Field(gt=0, description="Alert when p95 latency exceeds this.")
    for_: Duration = Field(300.0, alias="for", description="How long before alerting.")


class MonitorErrorRate(Strict):
    """Error-rate alert from the server's request counter."""

    max: Fraction = Field(description="Alert when the 5xx fraction exceeds this.")
    for_: Duration = Field(300.0, alias="for", description="How long before alerting.")


class MonitorPerformance(Strict):
    """Live model quality once labels arrive."""

    metric: MetricName = Field(description="Metric computed on labelled traffic.")
    min: float = Field(description="Alert below this value (above, for error metrics).")
    labels: RelPath = Field(description="Feedback file: request_id and the true label.")
    claim: Slug | None = Field(
        None, description="Existing PersistentVolumeClaim holding the feedback file (under the "
                          "labels file's name), mounted read-only into the monitor CronJob; "
                          "without it the in-cluster monitor has no labels.",
    )


class MonitorChallenger(Strict):
    """How far the challenger may fall from the champion on the same requests (joined on request id)."""

    min_agreement: Fraction = Field(
        0.95, description="Alert when fewer of the joined requests get the same answer: the same "
                          "class (classifiers), values within tolerance (regression).",
    )
    tolerance: float = Field(
        0.0, ge=0, description="Regression: largest absolute difference of two values that still "
                               "agree.",
    )
    method: DriftMethod = Field(
        "psi", description="Statistic comparing the two prediction distributions (classifiers: "
                           "the predicted classes).",
    )
    max_prediction_shift: float = Field(
        0.2, gt=0, description="Alert when the prediction shift exceeds this (ks: when its p-value "
                               "is below it).",
    )
    max_metric_drop: float | None = Field(
        None, ge=0, description="With monitors.performance labels: alert when the challenger's "
                                "metric is worse than the champion's by more than this.",
    )
    min_requests: int = Field(
        100, ge=1, description="Fewest joined requests before judging; fewer only warns.",
    )


class Monitors(Strict):
    """What is watched in production, and what happens on an alert."""

    schedule: Cron = Field("0 * * * *", description="When the monitor job runs.")
    window: Duration = Field(3600.0, description="Traffic window each run examines.")
    drift: MonitorDrift | None = Field(default_factory=MonitorDrift, description="Input drift.")
    latency: MonitorLatency | None = Field(None, description="Latency alert.")
    error_rate: MonitorErrorRate | None = Field(None, description="Error-rate alert.")
    performance: MonitorPerformance | None = Field(None, description="Live quality alert.")
    challenger: MonitorChallenger | None = Field(
        None, description="Challenger vs champion alert (needs serving.challenger).",
    )
    on_alert: Unique[AlertAction] = Field(
        default_factory=lambda: list[AlertAction](["open_issue"]),
        description="Actions when an alert fires.",
    )
    pushgateway: str | None = Field(None, description="Prometheus Pushgateway URL, if any.")
    workflow: bool | None = Field(
        None, description="Generate the scheduled GitHub workflow that runs the monitor on a runner "
                          "and takes the on_alert actions. Default: only when a runner can read "
                          "the request log (a serving.request_log.path relative to the spec, i.e. "
                          "in the repository, without upload); otherwise the in-cluster CronJob is "
                          "the monitor. With upload and true, give the workflow the bucket's "
                          "credentials yourself.",
    )
    prometheus_url: str = Field("http://prometheus-operated.monitoring.svc:9090",
                                description="Prometheus the canary analysis queries.")
    rule_labels: dict[str, str] = Field(
        default_factory=dict, description="Labels on the PrometheusRule, for the operator's rule selector."
    )


# --- ci and compile --------------------------------------------------------------------------


class GitHubApp(Strict):
    """The GitHub App whose token opens pull requests, so GitHub runs the PR workflow on them."""

    id_secret: str = Field("MLOPS_APP_ID", description="Repository secret holding the App's ID.")
    key_secret: str = Field("MLOPS_APP_PRIVATE_KEY",
                            description="Repository secret holding the App's private key (the "
                                        ".pem file's text).")


class CI(Strict):
    """The generated CI pipelines."""

    provider: Literal["github"] = Field("github", description="CI system.")
    python: str = Field("3.11", pattern=r"^3\.\d+$", description="Python version in CI.")
    runs_on: str = Field("ubuntu-24.04", description="GitHub runner label.")
    pr_comment: bool = Field(True, description="Post one sticky PR comment with the report.")
    app: GitHubApp | None = Field(
        None, description="A GitHub App (contents and pull requests: write) whose token opens the "
                          "retrain and promotion pull requests, so the PR workflow runs on them as "
                          "on a person's; without one, the workflow that opens a pull request "
                          "dispatches the PR workflow on it, which reports the gates as a commit "
                          "status (see the README's CI section).")
    source: Annotated[str | None, BeforeValidator(_moved_to("install.source"))] = Field(
        None, deprecated=True, description="Moved to `install.source`.")


class Install(Strict):
    """Where every generated workflow and the Dockerfile install mlops from, and what CI adds."""

    source: str | None = Field(
        None, min_length=1,
        description="mlops itself: a requirement on the package index ('mlops-yaml==0.2.0'), an "
                    "https or git+https URL, or the path of a wheel in the repository; default: "
                    "mlops-yaml pinned to the version that compiles. Write no extras: each place "
                    "adds the ones it needs.",
    )
    index_url: str | None = Field(
        None, min_length=1, description="Package index of every install (pip --index-url), an "
                                        "https URL; default: pip's (PyPI).")
    requirements: list[RelPath] = Field(
        default_factory=list, description="Requirements files the PR and retrain workflows install "
                                          "with mlops: the team's training stack and what its "
                                          "checks import.")
    packages: list[str] = Field(
        default_factory=list, description="More pip requirements for those workflows, e.g. "
                                          "'lightgbm==4.7.0'.")


class Compile(Strict):
    """Where generated files go and which templates render them."""

    output: RelPath = Field("generated", description="Folder for generated files.")
    templates: RelPath | None = Field(None, description="Folder of template overrides.")


class TeamChecks(Strict):
    """A team's own pytest checks, run as a gate."""

    path: RelPath = Field("checks", description="Folder of pytest files.")


BATCH_OUTPUT_COLUMNS = ("label", "prediction", "model_version", "model_digest", "scored_at")
"""Columns `mlops predict` writes besides the keys (and one probability_<label> per class)."""


class BatchScoring(Strict):
    """Batch scoring with `mlops predict`: the model over a dataset, predictions as Parquet files."""

    input: DataPath = Field(description="Rows to score: a file, a folder, a glob or a "
                                        "Hive-partitioned folder, or an s3://, gs:// or abfs:// URI.")
    output: DataPath = Field(description="Folder the predictions go to (one Parquet file per part "
                                         "of the input, then _SUCCESS); it must hold no data yet.")
    keys: list[str] = Field(default_factory=list,
                            description="Input columns copied to every prediction row (e.g. an id, "
                                        "or a Hive partition key of the path such as dt).")
    engine: DataEngine | None = Field(None, description="local or ray (default: data.engine).")
    schedule: Cron | None = Field(
        None, description="Run it in the cluster on this schedule (UTC): a CronJob with the local "
                          "engine, a KubeRay RayCronJob with ray (KubeRay 1.6+, its RayCronJob "
                          "feature gate on). Each run writes its own folder under output. "
                          "input and output must then be in object storage.")
    environment: Slug | None = Field(
        None, description="With schedule: the deploy environment whose namespace and released "
                          "image run it (default: the last one, whose model serves users).")
    secret: Slug | None = Field(
        None, description="With schedule: a Secret in that namespace whose keys become the job's "
                          "environment (envFrom), e.g. AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
                          "AWS_ENDPOINT_URL; unset: the pod's own identity (IRSA, Workload "
                          "Identity).")
    resources: Resources = Field(
        default_factory=lambda: Resources(cpu="1", memory="2Gi"),
        description="With schedule: requests and limits of the job's pod (with ray: of the Ray "
                    "head and of each worker).")
    workers: int = Field(2, ge=1, le=1000, description="With schedule and ray: Ray worker pods.")
    deadline: Duration = Field(
        3600.0, ge=60, description="With schedule: longest run before it is stopped and counted "
                                   "as failed.")

    @field_validator("schedule")
    @classmethod
    def _scheduled_runs_read_object_storage(cls, schedule: str | None,
                                            info: ValidationInfo) -> str | None:
        """A pod sees no checkout: what it reads and writes must be in object storage."""
        if schedule is None:
            return schedule
        local = [f"{key} {info.data[key]!r}" for key in ("input", "output")
                 if key in info.data and scheme(info.data[key]) is None]
        if local:
            verb = "is a local path" if len(local) == 1 else "are local paths"
            raise ValueError(f"a scheduled run reads and writes object storage (s3://, gs://, "
                             f"abfs://), but {' and '.join(local)} {verb}")
        return schedule

    @field_validator("keys")
    @classmethod
    def _keys_do_not_clash(cls, keys: list[str]) -> list[str]:
        for key in keys:
            if key in BATCH_OUTPUT_COLUMNS or key.startswith("probability_"):
                raise ValueError(f"key column '{key}' would clash with a predictions column "
                                 f"({', '.join(BATCH_OUTPUT_COLUMNS)}, probability_<label>)")
        if len(set(keys)) != len(keys):
            raise ValueError("key columns must be distinct")
        return keys


class Spec(Strict):
    """The whole mlops.yaml."""

    version: Literal[1] = Field(description="Spec format version.")
    name: Slug = Field(description="Model name: lowercase letters, digits and '-'.")
    description: str | None = Field(None, description="Free text.")
    data: Data
    model: Model
    metrics: Metrics = Field(default_factory=Metrics)
    benchmark: Benchmark = Field(default_factory=Benchmark)
    load: Load = Field(default_factory=Load)
    serving: Serving = Field(default_factory=Serving)
    deploy: Deploy
    monitors: Monitors = Field(default_factory=Monitors)
    install: Install = Field(default_factory=Install)
    ci: CI = Field(default_factory=CI)
    compile: Compile = Field(default_factory=Compile)
    checks: TeamChecks | None = None
    batch: BatchScoring | None = Field(None, description="Batch scoring (`mlops predict`).")

    def served_models(self) -> list[str]:
        """The ONNX files the image serves: model.artifact, then serving.challenger.model (the
        same image runs the challenger's deployment)."""
        challenger = self.serving.challenger
        return [self.model.artifact, *([challenger.model] if challenger is not None else [])]
