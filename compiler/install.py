"""What each generated place installs: the spec's one `install.source`, with the extras that place
needs and what the spec itself implies.

The workflows and the Dockerfile both ask this module, so a source written once reaches every
place, and what a spec implies (a parity check of a scikit-learn model needs scikit-learn and
joblib; the in-cluster monitor needs pyarrow) is added in one place. The extras are the package's
own (`pyproject.toml`), so their version bounds live there too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from mlops.spec.install import InstallSource, source_of
from mlops.spec.models import Spec

GATES = ("serve", "gate", "load")
"""What `mlops gate all` needs: the server for the load and checks gates, the gates, Locust."""
MONITOR = ("monitor",)
"""What `mlops monitor run` needs (pyarrow reads the reference and Parquet logs)."""
FRAMEWORK_EXTRAS = {"sklearn": "sklearn", "torch": "torch"}
"""model.source.framework -> the extra its parity check imports (joblib + scikit-learn; torch)."""


@dataclass(frozen=True)
class InstallPlan:
    """The spec's install section, resolved for one tool version."""

    source: InstallSource
    index_url: str | None
    requirements: tuple[str, ...]
    packages: tuple[str, ...]
    parity: tuple[str, ...]

    def pip_args(self, extras: Sequence[str], *, team: bool = False) -> list[str]:
        """Arguments after `python -m pip install`, run in the spec's folder.

        `team` adds what the spec says the team's own code needs (requirements files and
        packages): the workflows that train or run the team's checks.
        """
        args = ["--index-url", self.index_url] if self.index_url else []
        args.append(self.source.requirement(extras))
        if team:
            for path in self.requirements:
                args += ["--requirement", path]
            args += self.packages
        return args

    @property
    def gate_extras(self) -> tuple[str, ...]:
        """Every gate, plus the parity check's framework."""
        return (*GATES, *self.parity)

    @property
    def wheel(self) -> PurePosixPath | None:
        """The source's wheel in the repository (spec-relative), when the source is one."""
        return PurePosixPath(self.source.location) if self.source.kind == "wheel" else None


def install_plan(spec: Spec, version: str) -> InstallPlan:
    """Resolve `install` for `version` (the default source pins it)."""
    install = spec.install
    source = spec.model.source
    parity = (FRAMEWORK_EXTRAS[source.framework],) if source is not None else ()
    return InstallPlan(source_of(install.source, version), install.index_url,
                       tuple(install.requirements), tuple(install.packages), parity)


def image_extras(spec: Spec) -> tuple[str, ...]:
    """The image serves; it also runs the in-cluster monitor when that can read the request log
    (a shared claim, or the object store the servers upload to), pyarrow writes Parquet request
    logs and uploads them: all come with `monitor` (pyarrow beside what `serve` has). Its
    server checks the model's signature with `signing` when serving.verify asks it to."""
    log = spec.serving.request_log
    signing = ("signing",) if spec.serving.verify is not None else ()
    if log is not None and (monitor_in_cluster(spec) or log.format == "parquet"):
        return ("serve", *MONITOR, *signing)
    return ("serve", *signing)


def monitor_in_cluster(spec: Spec) -> bool:
    """Whether the CronJob can read the request log (a shared claim, or the object-store prefix
    the servers upload to), so the image carries what the monitor reads."""
    log = spec.serving.request_log
    return log is not None and (log.claim is not None or log.upload is not None)
