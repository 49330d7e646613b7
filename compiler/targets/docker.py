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

The image is labelled (OCI `org.opencontainers.image.*` and `mlops.*`): what the spec fixes is
written here, so the file stays the same from commit to commit (`mlops compile --check`); the
commit and the digests of the spec, model and data come in as `BUILD_ARGS`.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from mlops.core.locations import scheme
from mlops.core.telemetry import LIVE_PATH
from mlops.spec.container import APP_DIR, RUN_AS, VENV_DIR, in_container
from mlops.spec.models import Spec

from ..install import image_extras, install_plan, monitor_in_cluster
from ..plan import GeneratedFile, RenderContext
from . import kubernetes_batch

WHEELHOUSE = "wheelhouse"
"""Folder of wheels next to the spec that, when present, makes the build offline."""
IGNORE_NAME = "Dockerfile.dockerignore"
_BASE_PYTHON = re.compile(r"(?:^|/)python[\w.-]*:(\d+\.\d+)")
BUILD_ARGS = ("REVISION", "MODEL_VERSION", "MODEL_DIGEST", "SPEC_DIGEST", "DATA_DIGESTS")
"""Build arguments `mlops build` and the release workflow pass: the git commit, the model's
version (default: its digest's first 12 hex digits), `sha256:<hex>` of the model and the spec,
and `<path>=sha256:<hex>` of each data file (train, test, reference), space-separated."""
ARG_LABELS = (
    ("org.opencontainers.image.revision", "REVISION"),
    ("org.opencontainers.image.version", "MODEL_VERSION"),
    ("mlops.model.digest", "MODEL_DIGEST"),
    ("mlops.spec.digest", "SPEC_DIGEST"),
    ("mlops.data.digests", "DATA_DIGESTS"),
)


@dataclass(frozen=True)
class ImageInstall:
    """The builder stage's pip install, online (the declared source) and offline (a wheelhouse)."""

    online: tuple[str, ...]
    offline: tuple[str, ...]
    wheel: str | None
    download: tuple[str, ...]


def image_install(spec: Spec, version: str) -> ImageInstall:
    """What the builder installs: the declared source with the image's extras."""
    plan = install_plan(spec, version)
    extras = tuple(dict.fromkeys((*image_extras(spec), *kubernetes_batch.image_extras(spec))))
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
    nodes = kubernetes_batch.image_requirements(spec)
    return ImageInstall((*online, *nodes), (*offline, *nodes), None if wheel is None else str(wheel),
                        (plan.source.requirement(extras), *nodes))


def shipped_files(spec: Spec) -> list[str]:
    """Spec-relative files the image carries besides the spec: each served model and its
    signature, the public key the server checks them with (serving.verify), and the reference
    data when the in-cluster monitor computes drift."""
    verify = spec.serving.verify
    signatures = spec.serving.signatures(spec.model.artifact)
    files: list[str] = []
    for model in spec.served_models():
        files.append(PurePosixPath(model).as_posix())
        if model in signatures:
            files.append(PurePosixPath(signatures[model]).as_posix())
    if verify is not None and verify.public_key:
        files.append(PurePosixPath(verify.public_key).as_posix())
    reference = spec.data.reference_path
    if monitor_in_cluster(spec) and spec.monitors.drift is not None and scheme(reference) is None:
        files.append(PurePosixPath(reference).as_posix())  # in object storage, it is read there
    return files


@dataclass(frozen=True)
class Copy:
    """One `COPY` of spec-relative files into the app folder."""

    sources: str
    destination: str


def copies(spec: Spec) -> list[Copy]:
    """The `COPY`s of `shipped_files`. A signature beside its model is copied with it as an
    optional source (`model.onnx.sig*`): a checkout that is not signed yet (the release workflow
    signs keyless before it builds) still builds, and its server refuses to start."""
    signatures = spec.serving.signatures(spec.model.artifact)
    optional: set[str] = set()
    result: list[Copy] = []
    for model in spec.served_models():
        path = PurePosixPath(model)
        signature = signatures.get(model)
        if signature is not None and PurePosixPath(signature).parent == path.parent:
            result.append(Copy(f"{path.as_posix()} {signature}*",
                               f"{(APP_DIR / path.parent).as_posix()}/"))
            optional.add(signature)
        else:
            result.append(Copy(path.as_posix(), (APP_DIR / path).as_posix()))
        optional.add(path.as_posix())
    return [*result, *(Copy(file, (APP_DIR / file).as_posix())
                       for file in shipped_files(spec) if file not in optional)]


def labels(spec: Spec, tool_version: str) -> list[tuple[str, str]]:
    """(key, value as the Dockerfile writes it): fixed values quoted, the rest from `ARG`s."""
    fixed = [("org.opencontainers.image.title", spec.name),
             ("org.opencontainers.image.source", spec.deploy.repository or ""),
             ("org.opencontainers.image.base.name", spec.serving.base_image),
             ("mlops.model.name", spec.name),
             ("mlops.tool.version", tool_version)]
    return ([(key, _quoted(value)) for key, value in fixed if value]
            + [(key, f'"${{{arg}}}"') for key, arg in ARG_LABELS])


def _quoted(value: str) -> str:
    """A Dockerfile double-quoted word: no expansion of `$`, escaped quotes, one line."""
    text = " ".join(value.split())
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def ray_links(spec: Spec) -> list[str]:
    """Commands linked into /usr/local/bin for a Ray node: KubeRay starts Ray with `bash -l`,
    whose /etc/profile (Debian's) resets PATH without the venv; the job's entrypoint runs there."""
    if "ray" not in kubernetes_batch.image_extras(spec):
        return []
    return [(VENV_DIR / "bin" / name).as_posix() for name in ("mlops", "ray")]


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
            "download": " ".join(shlex.quote(arg) for arg in install.download),
            "wheel": install.wheel,
            "python": base_python(spec),
            "spec_file": ctx.loaded.path.name,
            "files": shipped_files(spec),
            "copies": copies(spec),
            "app_dir": APP_DIR,
            "venv": VENV_DIR,
            "user": RUN_AS,
            "port": spec.serving.port,
            "live_path": LIVE_PATH,
            "wheelhouse": WHEELHOUSE,
            "request_log": None if log is None else in_container(log.path),
            "dockerfile": ctx.output("docker", "Dockerfile").relative_to(ctx.spec_dir),
            "ignore_file": ctx.output("docker", IGNORE_NAME).relative_to(ctx.spec_dir),
            "build_args": BUILD_ARGS,
            "labels": labels(spec, ctx.tool_version),
            "path_links": ray_links(spec),
        }
        return [
            GeneratedFile(ctx.output("docker", "Dockerfile"),
                          ctx.render("docker/Dockerfile.j2", docker=view), ("serving",)),
            GeneratedFile(ctx.output("docker", IGNORE_NAME),
                          ctx.render("docker/dockerignore.j2", docker=view), ("serving",)),
        ]


TARGET = DockerTarget()
