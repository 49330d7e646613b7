"""`<output>/docker/Dockerfile` and `.dockerignore`: the serving image, built from the spec's folder.

Two stages on the same pinned base: the builder installs `mlops-yaml[serve]` (pinned to the tool
version that generated the file) into a venv, from `wheelhouse/*.whl` in the build context when
present (offline builds: `--network none`) and from the package index otherwise; the runtime stage
copies only that venv, the spec and the model, and runs `mlops serve` as UID 10001.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath

from mlops.core.telemetry import LIVE_PATH

from ..plan import GeneratedFile, RenderContext

RUN_AS = 10001
"""The same fixed UID/GID the Kubernetes target runs the pod as."""
APP_DIR = PurePosixPath("/app")
WHEELHOUSE = "wheelhouse"
"""Folder of wheels next to the spec that, when present, makes the build offline."""


class DockerTarget:
    name = "docker"

    def render(self, ctx: RenderContext) -> Sequence[GeneratedFile]:
        spec = ctx.loaded.spec
        spec_name = ctx.loaded.path.name
        extras = ["serve"]
        parquet = spec.serving.request_log is not None and spec.serving.request_log.format == (
            "parquet")
        view = {
            "base_image": spec.serving.base_image,
            "requirement": f"mlops-yaml[{','.join(extras)}]=={ctx.tool_version}",
            "extra_requirements": ["pyarrow>=15,<30"] if parquet else [],
            "spec_file": spec_name,
            "model": PurePosixPath(spec.model.artifact).as_posix(),
            "app_dir": APP_DIR,
            "user": RUN_AS,
            "port": spec.serving.port,
            "live_path": LIVE_PATH,
            "wheelhouse": WHEELHOUSE,
            "request_log": spec.serving.request_log,
        }
        return [
            GeneratedFile(ctx.output("docker", "Dockerfile"),
                          ctx.render("docker/Dockerfile.j2", docker=view), ("serving",)),
            GeneratedFile(ctx.output("docker", ".dockerignore"),
                          ctx.render("docker/dockerignore.j2", docker=view), ("serving",)),
        ]


TARGET = DockerTarget()
