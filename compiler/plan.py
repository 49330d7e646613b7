"""The compile phase's data: what each target renders, before anything touches the disk.

A target turns a LoadedSpec into GeneratedFiles (pure: no I/O but reading templates). The writer
and `--check` both consume the same list, so the check is exactly the write without writing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from spec.loader import LoadedSpec
from spec.yaml_source import KeyPath

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
    """Everything a target needs: the spec, where its outputs go, and the template renderer."""

    loaded: LoadedSpec
    repo_root: Path
    spec_dir: PurePosixPath
    output_dir: PurePosixPath
    workflows_dir: PurePosixPath
    templates: Any = field(repr=False)

    def render(self, template: str, **variables: Any) -> str:
        """Render `<target>/<file>.j2` with the spec and its paths in scope."""
        return str(self.templates.get_template(template).render(
            spec=self.loaded.spec, ctx=self, **variables))


class Target(Protocol):
    """One kind of output (GitHub Actions, Docker, Kubernetes, ...), registered in `targets`."""

    name: str

    def render(self, ctx: RenderContext) -> Sequence[GeneratedFile]:
        """The files this target produces for the spec; must be deterministic."""
        ...
