"""The compile phase's data: what each target renders, before anything touches the disk.

A target turns a LoadedSpec into GeneratedFiles (pure: no I/O but reading templates). The writer
and `--check` both consume the same list, so the check is exactly the write without writing.

Targets return bare content: the compiler adds the do-not-edit header in each file's comment
syntax (`compiler/headers.py`), so templates must not write one themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from mlops.core.version import release_version
from mlops.spec.loader import LoadedSpec
from mlops.spec.yaml_source import KeyPath

SOURCE_NAME = "mlops.yaml"


@dataclass(frozen=True)
class GeneratedFile:
    """One output file: repository-relative POSIX path, full text, and the spec key behind it."""

    path: PurePosixPath
    content: str
    origin: KeyPath = ()
    executable: bool = False


@dataclass(frozen=True)
class RenderContext:
    """Everything a target needs: the spec, where its outputs go, and the template renderer.

    Paths are repository-relative: `spec_dir` is the spec's folder ('.' at the root),
    `output_dir` is `spec_dir / spec.compile.output`, `workflows_dir` is `.github/workflows`.
    """

    loaded: LoadedSpec
    repo_root: Path
    spec_dir: PurePosixPath
    output_dir: PurePosixPath
    workflows_dir: PurePosixPath
    templates: Any = field(repr=False)
    spec_file: PurePosixPath = field(default_factory=lambda: PurePosixPath(SOURCE_NAME))
    tool_version: str = field(default_factory=release_version)
    promoted: Mapping[str, str] = field(default_factory=dict)

    def render(self, template: str, **variables: Any) -> str:
        """Render `<target>/<file>.j2` with the spec and its paths in scope."""
        return str(self.templates.get_template(template).render(
            spec=self.loaded.spec, ctx=self, **variables))

    def output(self, *parts: str) -> PurePosixPath:
        """A path inside the spec's output folder, e.g. `ctx.output("load", "locustfile.py")`."""
        return self.output_dir.joinpath(*parts)

    def from_spec_dir(self, relative: str) -> PurePosixPath:
        """A spec-relative path (as written in mlops.yaml) made repository-relative."""
        return self.spec_dir / relative

    def promoted_digest(self, environment: str) -> str | None:
        """The image digest (`sha256:...`) last promoted to an environment, if any.

        `mlops compile --promote ENV=DIGEST` records it in the lock; overlays pin the image to it.
        """
        return self.promoted.get(environment)


class Target(Protocol):
    """One kind of output (GitHub Actions, Docker, Kubernetes, ...), registered in `targets`."""

    name: str

    def render(self, ctx: RenderContext) -> Sequence[GeneratedFile]:
        """The files this target produces for the spec; must be deterministic."""
        ...
