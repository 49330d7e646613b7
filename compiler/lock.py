"""The lock file: what the last compile wrote, so `--check` can tell stale from edited by hand.

`<output>/.mlops-lock.json` records the spec's hash, the tool version, a sha256 per generated file
(repository-relative paths), the image digest promoted to each environment and the images the
release workflow built after the release gates passed on their commit (`released`: what a
rollback may return to). Its bytes are deterministic: sorted keys, no timestamps. Its git history
is the environments' deployment history (`mlops history`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from mlops.core.errors import MlopsError

LOCK_NAME = ".mlops-lock.json"
LOCK_FORMAT = 1


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Release:
    """What one released image serves: recorded by the release workflow once the gates passed."""

    model_digest: str
    model_version: str
    revision: str

    def to_json(self) -> dict[str, str]:
        return {"model_digest": self.model_digest, "model_version": self.model_version,
                "revision": self.revision}

    @classmethod
    def from_json(cls, document: Mapping[str, object]) -> Release:
        return cls(str(document["model_digest"]), str(document["model_version"]),
                   str(document["revision"]))


@dataclass(frozen=True)
class Lock:
    """The compiler's record of one spec's outputs."""

    spec: PurePosixPath
    spec_sha256: str
    tool_version: str
    files: Mapping[PurePosixPath, str] = field(default_factory=dict)
    promoted: Mapping[str, str] = field(default_factory=dict)
    released: Mapping[str, Release] = field(default_factory=dict)

    def to_text(self) -> str:
        document: dict[str, object] = {
            "$comment": (f"Written by `mlops compile` for {self.spec}: the hash of every file it "
                         "generated, to tell stale files from hand edits. DO NOT EDIT."),
            "format": LOCK_FORMAT,
            "spec": str(self.spec),
            "spec_sha256": self.spec_sha256,
            "tool_version": self.tool_version,
            "files": {str(path): digest for path, digest in sorted(self.files.items())},
            "promoted": dict(sorted(self.promoted.items())),
        }
        if self.released:
            document["released"] = {image: release.to_json()
                                    for image, release in sorted(self.released.items())}
        return json.dumps(document, indent=2, sort_keys=True) + "\n"


class LockError(MlopsError):
    """The lock file exists but cannot be read; it is the compiler's file, so say how to recover."""


def parse_lock(text: str) -> Lock:
    """A lock from its text; ValueError, KeyError, TypeError or AttributeError when malformed."""
    document = json.loads(text)
    files = {PurePosixPath(name): str(digest) for name, digest in document["files"].items()}
    promoted = {str(env): str(digest) for env, digest in document.get("promoted", {}).items()}
    released = {str(image): Release.from_json(release)
                for image, release in document.get("released", {}).items()}
    return Lock(PurePosixPath(document["spec"]), str(document["spec_sha256"]),
                str(document["tool_version"]), files, promoted, released)


LOCK_PROBLEMS = (ValueError, KeyError, TypeError, AttributeError)
"""What `parse_lock` raises for a lock that is not one."""


def read_lock(path: Path, display: str) -> Lock | None:
    """The lock at `path`, or None when there is none yet."""
    try:
        return parse_lock(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, *LOCK_PROBLEMS) as error:
        raise LockError(f"{display}: cannot read the lock file ({error}); delete it and run "
                        "`mlops compile` again (files it listed will then count as not "
                        "generated)") from None
