"""`mlops build`: compile if needed, then build the generated Dockerfile through the Docker API.

The docker SDK reads DOCKER_HOST, so the same code drives Docker or podman's Docker-compatible
socket. The tag is `<deploy.image>:<git short sha>` (`-dirty` when the worktree has changes), so an
image always names the commit it was built from.

The context is packed here, filtered by the ignore file beside the Dockerfile
(`Dockerfile.dockerignore`, which BuildKit and podman read for `-f`): the SDK would only read a
`.dockerignore` at the context root and send everything else, a team's `.venv` included.

The build arguments the Dockerfile turns into labels (`BUILD_ARGS` of the docker target) are
computed here from the files being built: the commit, the model's version and digest, the spec's
digest and each data file's; the labels are read back from the built image, so what is printed is
what the image carries.
"""

from __future__ import annotations

import subprocess
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from mlops.core.digest import file_digest
from mlops.core.errors import MlopsError
from mlops.spec.loader import LoadedSpec
from mlops.spec.models import Spec

from .lineage import SHORT_DIGEST, version_problem


class BuildError(MlopsError):
    """The image did not build (or no Docker API could be reached)."""


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    id: str
    size_bytes: int
    context: BuildContext
    labels: dict[str, str]


@dataclass(frozen=True)
class BuildContext:
    """The packed build context: a tar archive, what it holds and how big it is."""

    archive: IO[bytes]
    files: tuple[str, ...]
    size_bytes: int
    ignore_file: Path


def ignore_file(dockerfile: Path) -> Path:
    """`<Dockerfile>.dockerignore`: the ignore file builders read for `-f <Dockerfile>`."""
    return dockerfile.with_name(f"{dockerfile.name}.dockerignore")


def ignore_patterns(path: Path) -> list[str]:
    """The patterns of an ignore file, read as Docker reads them (no blank or comment lines)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise BuildError(f"{path}: cannot read the ignore file ({error.strerror}); run "
                         "`mlops compile`") from None
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def pack_context(folder: Path, dockerfile: Path) -> BuildContext:
    """The context `folder` as the builders see it: only what the Dockerfile's ignore file keeps
    (and the Dockerfile itself), packed with the docker SDK's own pattern matcher."""
    try:
        from docker.utils.build import tar
    except ImportError:
        raise BuildError("mlops build needs the docker package: pip install 'mlops-yaml[all]'") from None
    root = folder.resolve()
    relative = dockerfile.resolve().relative_to(root).as_posix()
    ignore = ignore_file(dockerfile)
    archive: IO[bytes] = tar(str(root), exclude=ignore_patterns(ignore), dockerfile=(relative, None))
    with tarfile.open(fileobj=archive, mode="r") as packed:
        files = tuple(sorted(member.name for member in packed.getmembers() if member.isfile()))
    size = archive.seek(0, 2)
    archive.seek(0)
    return BuildContext(archive, files, size, ignore)


def git_tag(folder: Path, short: bool = True) -> str:
    """Short (or full) commit of the repository holding `folder`, `-dirty` if it has uncommitted
    changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True,
                              check=True).stdout.strip()

    try:
        sha = git("rev-parse", *(["--short=12"] if short else []), "HEAD")
    except (OSError, subprocess.CalledProcessError):
        raise BuildError(f"{folder}: not in a git repository with a commit; pass --tag") from None
    return f"{sha}-dirty" if git("status", "--porcelain", "--untracked-files=no") else sha


def git_revision(folder: Path) -> str:
    """Full commit of the repository holding `folder` (`-dirty` with uncommitted changes), or ""
    outside a repository: the image's `org.opencontainers.image.revision`."""
    try:
        return git_tag(folder, short=False)
    except BuildError:
        return ""


def data_files(spec: Spec) -> list[str]:
    """The data files whose digests label the image: train, test and reference, once each (the
    release workflow's build step names the same three)."""
    return list(dict.fromkeys((spec.data.train, spec.data.test, spec.data.reference_path)))


def build_args(loaded: LoadedSpec, version: str | None) -> dict[str, str]:
    """The Dockerfile's `ARG`s: commit, model version and the digests of the files built in."""
    problem = version_problem(version or "", "--model-version")
    if problem:
        raise BuildError(problem)
    model = loaded.resolve(loaded.spec.model.artifact)
    if not model.is_file():
        raise BuildError(f"{loaded.spec.model.artifact}: the model file is missing; train or "
                         "fetch it before building the image")
    digest, _ = file_digest(model)
    data = " ".join(f"{name}={file_digest(loaded.resolve(name))[0]}"
                    for name in data_files(loaded.spec) if loaded.resolve(name).is_file())
    return {"REVISION": git_revision(loaded.root),
            "MODEL_VERSION": version or digest.removeprefix("sha256:")[:SHORT_DIGEST],
            "MODEL_DIGEST": digest, "SPEC_DIGEST": file_digest(loaded.path)[0],
            "DATA_DIGESTS": data}


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
                echo: Callable[[str], None], version: str | None = None) -> BuiltImage:
    """Build `dockerfile` with the spec's folder as context; returns the image's id, size and
    labels. `version`: the model version (default: its digest's short form)."""
    arguments = build_args(loaded, version)
    client = _client()
    context = pack_context(loaded.root, dockerfile)
    echo(f"build context: {len(context.files)} files, {context.size_bytes} bytes "
         f"(filtered by {context.ignore_file.relative_to(loaded.root)})")
    options: dict[str, Any] = {
        "fileobj": context.archive, "custom_context": True, "tag": tag, "rm": True,
        "forcerm": True, "decode": True, "buildargs": arguments,
        "dockerfile": dockerfile.resolve().relative_to(loaded.root.resolve()).as_posix()}
    if network:
        options["network_mode"] = network
    try:
        error = _stream(client.api.build(**options), echo)
    finally:
        context.archive.close()
    if error:
        raise BuildError(f"docker build of {dockerfile} failed: {error}")
    image = client.images.get(tag)
    labels = image.attrs.get("Config", {}).get("Labels") or {}
    return BuiltImage(tag, str(image.id), int(image.attrs.get("Size") or 0), context,
                      {str(key): str(value) for key, value in sorted(labels.items())})
