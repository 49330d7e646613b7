"""`install.source`: the one place every generated workflow and the Dockerfile install mlops from.

A source is written in one of three forms, told apart by their shape:

- a requirement on a package index: `mlops-yaml==0.2.0` (a name and optional version specifiers);
- a URL pip installs directly: `https://host/mlops_yaml-0.2.0-py3-none-any.whl`,
  `git+https://github.com/acme/mlops@v0.2.0`;
- a wheel committed to the repository, relative to the spec's folder:
  `wheels/mlops_yaml-0.2.0-py3-none-any.whl`.

Users never write extras: each place that installs adds the ones it needs (`[serve]` in the image,
`[serve,gate,load]` in the PR workflow), so one declared source serves all of them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

from mlops.core.version import DISTRIBUTION

SourceKind = Literal["index", "url", "wheel"]
URL_SCHEMES = ("https://", "git+https://", "git+ssh://")
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_CLAUSE = r"(?:===|==|!=|~=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+"
_REQUIREMENT = re.compile(rf"^({_NAME})\s*({_CLAUSE}(?:\s*,\s*{_CLAUSE})*)?$")
_EXTRAS = re.compile(rf"^{_NAME}\s*\[")
EXPECTED = ("expected a requirement like 'mlops-yaml==0.2.0', an https or git+https URL, or the "
            "path of a wheel (.whl) in the repository")


@dataclass(frozen=True)
class InstallSource:
    """A parsed `install.source`."""

    kind: SourceKind
    name: str
    specifier: str = ""
    location: str = ""

    def requirement(self, extras: Sequence[str], path_prefix: str = "./") -> str:
        """The pip argument installing this source with `extras`.

        A wheel in the repository is installed by its path, `path_prefix` + the spec-relative
        path (`./` where the spec's folder is the working directory; the image copies it).
        """
        tag = f"[{','.join(extras)}]" if extras else ""
        if self.kind == "index":
            return f"{self.name}{tag}{self.specifier}"
        if self.kind == "url":
            return f"{self.name}{tag} @ {self.location}"
        return f"{path_prefix}{self.location}{tag}"

    def offline_requirement(self, extras: Sequence[str]) -> str:
        """What an offline install from a wheelhouse asks for: the distribution by name (and its
        pinned version when the source pins one), since a URL cannot be fetched offline."""
        tag = f"[{','.join(extras)}]" if extras else ""
        return f"{self.name}{tag}{self.specifier if self.kind == 'index' else ''}"


def default_source(version: str) -> InstallSource:
    """The released version of this tool on the package index: `mlops-yaml==<version>`."""
    return InstallSource("index", DISTRIBUTION, f"=={version}")


def parse_source(text: str) -> InstallSource:
    """Parse a written source; raises ValueError with the sentence a user reads."""
    value = text.strip()
    if value.startswith(URL_SCHEMES):
        if any(c.isspace() for c in value):
            raise ValueError(f"{EXPECTED}, got {text!r} (a URL has no spaces)")
        return InstallSource("url", DISTRIBUTION, location=value)
    if "://" in value:
        raise ValueError(f"{EXPECTED} (URL schemes: {', '.join(URL_SCHEMES)}), got {text!r}")
    if value.endswith(".whl"):
        path = PurePosixPath(value)
        if path.is_absolute() or ".." in path.parts or "\\" in value:
            raise ValueError(f"expected the wheel's path relative to the spec's folder (no leading "
                             f"'/', no '..'), got {text!r}")
        return InstallSource("wheel", DISTRIBUTION, location=path.as_posix())
    if _EXTRAS.match(value):
        raise ValueError(f"leave out the extras, got {text!r}: compile adds the ones each place "
                         "needs ([serve] in the image, [serve,gate,load] in CI)")
    match = _REQUIREMENT.match(value)
    if not match:
        raise ValueError(f"{EXPECTED}, got {text!r}")
    specifier = re.sub(r"\s+", "", match.group(2) or "")
    return InstallSource("index", match.group(1), specifier)


def source_of(written: str | None, version: str) -> InstallSource:
    """The spec's source, or the default for this tool version."""
    return default_source(version) if written is None else parse_source(written)
