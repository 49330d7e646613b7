"""`<output>/docker/Dockerfile` and `Dockerfile.dockerignore`: the serving image, built from the
spec's folder.

Two stages on the same pinned base: the builder installs mlops from the spec's `install.source`
(with the extras the image needs) into a venv, from `wheelhouse/*.whl` in the build context when
present (offline builds: `--network none`) and from the source otherwise; the runtime stage copies
only that venv, the spec, the model (and, when the in-cluster monitor runs, its reference data) and
runs `mlops serve` as UID 10001.

The ignore file sits beside the Dockerfile as `Dockerfile.dockerignore`: the name BuildKit and
podman/buildah read for `-f <output>/docker/Dockerfile` (a `.dockerignore` in a subfolder is read
by nothing). `mlops build` applies the same file when it packs the context itself.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from mlops.core.telemetry import LIVE_PATH
from mlops.spec.container import APP_DIR, RUN_AS, VENV_DIR, in_container
from mlops.spec.models import Spec

from ..install import image_extras, install_plan, monitor_in_cluster
from ..plan import GeneratedFile, RenderContext

WHEELHOUSE = "wheelhouse"
"""Folder of wheels next to the spec that, when present, makes the build offline."""
IGNORE_NAME = "Dockerfile.dockerignore"
_BASE_PYTHON = re.compile(r"(?:^|/)python[\w.-]*:(\d+\.\d+)")


@dataclass(frozen=True)
class ImageInstall:
    """The builder stage's pip install, online (the declared source) and offline (a wheelhouse)."""

    online: tuple[str, ...]
    offline: tuple[str, ...]
    wheel: str | None
    download: str


def image_install(spec: Spec, version: str) -> ImageInstall:
    """What the builder installs: the declared source with the image's extras."""
    plan = install_plan(spec, version)
    extras = image_extras(spec)
    wheel = plan.wheel
    if wheel is not None:
        copied = replace(plan.source, location=wheel.name)  # COPY puts it in /source/
        requirement = copied.requirement(extras, path_prefix="/source/")
        online: tuple[str, ...] = (requirement,)
        offline: tuple[str, ...] = (requirement,)
    else:
        index = ("--index-url", plan.index_url) if plan.index_url else ()
        online = (*index, plan.source.requirement(extras))
        offline = (plan.source.offline_requirement(extras),)
    return ImageInstall(online, offline, None if wheel is None else str(wheel),
                        plan.source.requirement(extras))


def shipped_files(spec: Spec) -> list[str]:
    """Spec-relative files the image carries besides the spec: the model, and the reference data
    when the in-cluster monitor computes drift."""
    files = [PurePosixPath(spec.model.artifact).as_posix()]
    if monitor_in_cluster(spec) and spec.monitors.drift is not None:
        files.append(PurePosixPath(spec.data.reference_path).as_posix())
    return files


def base_python(spec: Spec) -> str:
    """The base image's Python version (from its tag), for the offline download hint."""
    match = _BASE_PYTHON.search(spec.serving.base_image)
    return match.group(1) if match else spec.ci.python


class DockerTarget:
    name = "docker"

    def render(self, ctx: RenderContext) -> Sequence[GeneratedFile]:
        spec = ctx.loaded.spec
        install = image_install(spec, ctx.tool_version)
        log = spec.serving.request_log
        view = {
            "base_image": spec.serving.base_image,
            "online": " ".join(shlex.quote(arg) for arg in install.online),
            "offline": " ".join(shlex.quote(arg) for arg in install.offline),
            "download": shlex.quote(install.download),
            "wheel": install.wheel,
            "python": base_python(spec),
            "spec_file": ctx.loaded.path.name,
            "files": shipped_files(spec),
            "app_dir": APP_DIR,
            "venv": VENV_DIR,
            "user": RUN_AS,
            "port": spec.serving.port,
            "live_path": LIVE_PATH,
            "wheelhouse": WHEELHOUSE,
            "request_log": None if log is None else in_container(log.path),
            "dockerfile": ctx.output("docker", "Dockerfile").relative_to(ctx.spec_dir),
            "ignore_file": ctx.output("docker", IGNORE_NAME).relative_to(ctx.spec_dir),
        }
        return [
            GeneratedFile(ctx.output("docker", "Dockerfile"),
                          ctx.render("docker/Dockerfile.j2", docker=view), ("serving",)),
            GeneratedFile(ctx.output("docker", IGNORE_NAME),
                          ctx.render("docker/dockerignore.j2", docker=view), ("serving",)),
        ]


TARGET = DockerTarget()
