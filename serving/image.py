"""`mlops build`: compile if needed, then build the generated Dockerfile through the Docker API.

The docker SDK reads DOCKER_HOST, so the same code drives Docker or podman's Docker-compatible
socket. The tag is `<deploy.image>:<git short sha>` (`-dirty` when the worktree has changes), so an
image always names the commit it was built from.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops.core.errors import MlopsError
from mlops.spec.loader import LoadedSpec


class BuildError(MlopsError):
    """The image did not build (or no Docker API could be reached)."""


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    id: str
    size_bytes: int


def git_tag(folder: Path) -> str:
    """Short commit of the repository holding `folder`, `-dirty` if it has uncommitted changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True,
                              check=True).stdout.strip()

    try:
        sha = git("rev-parse", "--short=12", "HEAD")
    except (OSError, subprocess.CalledProcessError):
        raise BuildError(f"{folder}: not in a git repository with a commit; pass --tag") from None
    return f"{sha}-dirty" if git("status", "--porcelain", "--untracked-files=no") else sha


def _client() -> Any:
    try:
        import docker
    except ImportError:
        raise BuildError("mlops build needs the docker package: pip install docker") from None
    try:
        client = docker.from_env(timeout=600)
        client.ping()
    except Exception as error:  # the SDK wraps socket, HTTP and config errors differently
        raise BuildError(f"cannot reach a Docker API (DOCKER_HOST or the default socket): "
                         f"{error}") from None
    return client


def _stream(lines: Iterator[dict[str, Any]], echo: Callable[[str], None]) -> str | None:
    """Print the build log; return the error message, if the build failed."""
    for line in lines:
        if "stream" in line:
            text = str(line["stream"]).rstrip("\n")
            if text:
                echo(text)
        if "error" in line:
            return str(line.get("errorDetail", {}).get("message") or line["error"])
    return None


def build_image(loaded: LoadedSpec, dockerfile: Path, tag: str, network: str | None,
                echo: Callable[[str], None]) -> BuiltImage:
    """Build `dockerfile` with the spec's folder as context; returns the image's id and size."""
    client = _client()
    context = loaded.root.resolve()
    options: dict[str, Any] = {"path": str(context), "tag": tag, "rm": True, "forcerm": True,
                               "decode": True,
                               "dockerfile": str(dockerfile.resolve().relative_to(context))}
    if network:
        options["network_mode"] = network
    error = _stream(client.api.build(**options), echo)
    if error:
        raise BuildError(f"docker build of {dockerfile} failed: {error}")
    image = client.images.get(tag)
    return BuiltImage(tag, str(image.id), int(image.attrs.get("Size") or 0))
