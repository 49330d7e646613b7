"""Virtualenvs for workflow replays: one install per install line and session, a pristine copy
for every replay.

A replay must start from exactly what its workflow's install step installs and nothing else, yet
installing the same line again (the PR workflow's and the retrain workflow's gates install
scikit-learn, onnxruntime, pandas, Locust, ...) costs about a minute of two busy cores each time.
`VenvCache` keeps, per install key (`install_key`), the virtualenv at a fixed path (a venv cannot
move: its scripts carry its absolute path in their shebangs) and a snapshot of it hard-linked
right after the install step first succeeded there. Every later replay gets the venv rebuilt from
that snapshot (links, not copies of the bytes), so what an earlier replay added (byte code, a
package a step installed) is gone, and its install step still runs: a no-op reinstall that
proves the line resolves against what is installed.

A replay that wrote into an installed file in place would write through the link into the
snapshot: the snapshot's file sizes and modification times are recorded when it is taken and
compared before each restore, and a snapshot that changed is thrown away (that replay installs
afresh). Replays of one key take a file lock, so parallel workers do not share a venv.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import stat
import sys
import venv
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

Manifest = dict[str, list[int]]
"""Path inside the snapshot -> [size, mtime_ns] of each regular file."""


def install_key(script: str, workdir: Path, wheels: Path, variables: Mapping[str, str]) -> str:
    """What an install step's outcome depends on: this Python, the step's script, the variables
    pip reads (PIP_*) or the script names ($NAME) of this process's and the step's environment
    (`variables`: the replay's and the step's own), the bytes of every wheel pip finds in
    `wheels`, and of every file in `workdir` the script names (a requirements file, a committed
    wheel). A per-replay variable the install does not read (RUNNER_TEMP) leaves it alone."""
    digest = hashlib.sha256()
    named_variables = set(re.findall(r"\$\{?(\w+)", script))
    read = {k: v for k, v in {**os.environ, **variables}.items()
            if k.startswith("PIP_") or k in named_variables}
    digest.update(json.dumps([sys.version, script, sorted(read.items())]).encode())
    named = [workdir / token for token in _tokens(script)]
    for path in sorted(wheels.glob("*.whl")) + [p for p in named if p.is_file()]:
        digest.update(f"\0{path.name}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _tokens(script: str) -> list[str]:
    try:
        return shlex.split(script, comments=True)
    except ValueError:  # an unbalanced quote: the words are still worth hashing
        return script.split()


@dataclass(frozen=True)
class VenvSlot:
    """One install key's venv (a fixed path) and its snapshot."""

    folder: Path

    @property
    def venv(self) -> Path:
        return self.folder / "venv"

    @property
    def snapshot(self) -> Path:
        return self.folder / "snapshot"

    @property
    def manifest(self) -> Path:
        return self.folder / "snapshot.json"

    def prepare(self) -> bool:
        """The venv as the snapshot holds it (True) or, with no intact snapshot, a fresh one with
        nothing but pip (False), what `actions/setup-python` hands the install step."""
        shutil.rmtree(self.venv, ignore_errors=True)
        if self._intact():
            shutil.copytree(self.snapshot, self.venv, symlinks=True, copy_function=os.link)
            return True
        self._discard()
        venv.EnvBuilder(with_pip=True, clear=True).create(self.venv)
        return False

    def keep(self) -> None:
        """Snapshot the venv as the install step left it (once: later replays restore it)."""
        if self.manifest.exists():
            return
        self._discard()
        shutil.copytree(self.venv, self.snapshot, symlinks=True, copy_function=os.link)
        self.manifest.write_text(json.dumps(_files(self.snapshot)))

    def _intact(self) -> bool:
        if not self.manifest.exists():
            return False
        recorded: Manifest = json.loads(self.manifest.read_text())
        return recorded == _files(self.snapshot)

    def _discard(self) -> None:
        self.manifest.unlink(missing_ok=True)
        shutil.rmtree(self.snapshot, ignore_errors=True)


def _files(folder: Path) -> Manifest:
    files: Manifest = {}
    for directory, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(directory, name)
            status = os.lstat(path)
            if stat.S_ISREG(status.st_mode):
                files[os.path.relpath(path, folder)] = [status.st_size, status.st_mtime_ns]
    return files


@dataclass(frozen=True)
class VenvCache:
    """Venvs of one test session under `root` (the session removes it at its end)."""

    root: Path

    @contextmanager
    def use(self, key: str) -> Iterator[VenvSlot]:
        """`key`'s slot, held alone for the length of a replay."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / f"{key}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield VenvSlot(self.root / key)
