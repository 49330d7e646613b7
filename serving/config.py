"""What one server process needs, resolved from the spec plus command-line/environment overrides.

Kept as a plain frozen dataclass (JSON-serialisable) so `mlops serve` can hand it to uvicorn worker
processes through one environment variable instead of re-reading the spec in each of them.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal, get_args

from mlops.core.contract import ColumnRule, Task
from mlops.core.signing import Trust
from mlops.spec.loader import LoadedSpec

from .lineage import COMMIT_ENV, VERSION_ENV, git_commit

CONFIG_ENV = "MLOPS_SERVE_CONFIG"
Variant = Literal["champion", "challenger"]
VARIANTS: tuple[Variant, ...] = get_args(Variant)
SCORE_BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 11))


def value_buckets(loaded: LoadedSpec) -> tuple[float, ...]:
    """Prediction histogram bounds: tenths of [0, 1] for scores; for regression, ten steps over the
    target's declared range (or powers of ten when the schema gives none)."""
    spec = loaded.spec
    if spec.model.task != "regression":
        return SCORE_BUCKETS
    target = spec.data.columns.get(spec.data.target)
    if target is not None and target.min is not None and target.max is not None and (
            target.max > target.min):
        step = (target.max - target.min) / 10
        return tuple(round(target.min + step * i, 12) for i in range(1, 11))
    powers = [10.0 ** e for e in range(-2, 7)]
    return (*(-p for p in reversed(powers)), 0.0, *powers)


def trust(loaded: LoadedSpec, variant: Variant = "champion") -> Trust | None:
    """serving.verify with the spec's paths resolved, or None when it is unset. The challenger
    is checked against its own `<model>.sig` (serving.verify.signature names the champion's)."""
    spec = loaded.spec
    verify = spec.serving.verify
    if verify is None:
        return None
    challenger = spec.serving.challenger
    model = (challenger.model if variant == "challenger" and challenger is not None
             else spec.model.artifact)
    signature = spec.serving.signatures(spec.model.artifact)[model]
    return Trust(signature=str(loaded.resolve(signature)),
                 root=str(loaded.root),
                 public_key=str(loaded.resolve(verify.public_key)) if verify.public_key else None,
                 identity=verify.identity, issuer=verify.issuer if verify.identity else None)


@dataclass(frozen=True)
class RequestLogConfig:
    path: str
    sample_rate: float
    format: Literal["jsonl", "parquet"]
    rotate_mb: int
    upload: str | None = None
    """Object-store prefix each closed file is uploaded to (serving/log_upload.py)."""
    rotate_after_s: float = 300.0
    """With upload: a file also closes this long after it opened."""
    buffer_mb: int = 512


@dataclass(frozen=True)
class ServerConfig:
    name: str
    model_path: str
    task: Task
    columns: tuple[ColumnRule, ...]
    labels: tuple[str, ...] | None
    output: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    threads: int = 1
    max_batch_size: int = 32
    max_batch_delay_ms: float = 2.0
    max_body_bytes: int = 1_048_576
    allow_non_finite: bool = False
    on_schema_violation: Literal["reject", "log"] = "reject"
    request_log: RequestLogConfig | None = None
    value_buckets: tuple[float, ...] = SCORE_BUCKETS
    model_version: str = ""
    """What `x-model-version` says ("": the digest's short form; see `lineage`)."""
    commit: str = ""
    verify: Trust | None = None
    """Who must have signed the model (serving.verify); None: served unverified, with a warning."""
    variant: Variant = "champion"
    """Which of serving.challenger's pair this server is: logged with every request and a label
    of every metric, so the monitor can join the two logs on request id."""

    @classmethod
    def from_spec(cls, loaded: LoadedSpec, variant: Variant = "champion") -> ServerConfig:
        """The champion serves model.artifact; the challenger serves serving.challenger.model
        (ValueError when the spec has none)."""
        spec = loaded.spec
        serving = spec.serving
        log = serving.request_log
        artifact, output = spec.model.artifact, spec.model.output
        if variant == "challenger":
            if serving.challenger is None:
                raise ValueError("serving.challenger is not set: there is no challenger to serve")
            artifact = serving.challenger.model
            output = serving.challenger.output or output
        return cls(
            name=spec.name,
            model_path=str(loaded.resolve(artifact)),
            task=spec.model.task,
            columns=tuple(spec.data.feature_rules()),
            labels=tuple(spec.model.labels) if spec.model.labels else None,
            output=output,
            port=serving.port,
            workers=serving.workers,
            threads=serving.threads,
            max_batch_size=serving.max_batch_size,
            max_batch_delay_ms=serving.max_batch_delay_ms,
            max_body_bytes=serving.max_body_bytes,
            allow_non_finite=serving.allow_non_finite,
            on_schema_violation=serving.on_schema_violation,
            request_log=RequestLogConfig(str(loaded.resolve(log.path)), log.sample_rate,
                                         log.format, log.rotate_mb, log.upload,
                                         log.rotate_after, log.buffer_mb)
            if log else None,
            value_buckets=value_buckets(loaded),
            model_version=os.environ.get(VERSION_ENV, "").strip(),
            commit=os.environ.get(COMMIT_ENV, "").strip() or git_commit(loaded.root),
            verify=trust(loaded, variant),
            variant=variant,
        )

    def with_overrides(self, *, host: str | None = None, port: int | None = None,
                       workers: int | None = None, model: Path | None = None,
                       request_log_dir: str | None = None, verify: bool = True) -> ServerConfig:
        """Flags and environment variables win over the spec (the container sets some of them).
        Another model than the artifact is checked against its own `<model>.sig` when the spec
        names no signature file; `verify=False` skips the check (the load gate's runs)."""
        log = self.request_log
        if log is not None and request_log_dir:
            log = replace(log, path=request_log_dir)
        trusted = self.verify if verify else None
        if trusted is not None and model is not None and trusted.signature == f"{self.model_path}.sig":
            trusted = replace(trusted, signature=f"{model}.sig")
        return replace(
            self,
            host=host if host is not None else self.host,
            port=port if port is not None else self.port,
            workers=workers if workers is not None else self.workers,
            model_path=str(model) if model is not None else self.model_path,
            request_log=log,
            verify=trusted,
        )

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(rule.name for rule in self.columns)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServerConfig:
        raw = json.loads(text)
        log = raw.pop("request_log")
        raw["columns"] = tuple(
            ColumnRule(**{**column, "allowed": tuple(column["allowed"])
                          if column["allowed"] is not None else None})
            for column in raw["columns"])
        raw["labels"] = tuple(raw["labels"]) if raw["labels"] is not None else None
        raw["value_buckets"] = tuple(raw["value_buckets"])
        verify = raw.pop("verify")
        return cls(**raw, request_log=RequestLogConfig(**log) if log else None,
                   verify=Trust(**verify) if verify else None)
