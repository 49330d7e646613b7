"""What a report pins: the tool version, the spec's digest, the model's and the baseline's, and a
fingerprint of each data file, so any verdict can be traced to exactly what was judged.

Computed once, after the gates ran (a release trains first, so the model is the one the gates
read). Paths are relative to the repository, like every path a report names (see `paths`). The
data files are those the spec declares (train, test, reference, current) that exist; a row count
is recorded only where it costs no scan (Parquet's footer).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from mlops.core.digest import digest_of, file_digest
from mlops.core.repository import repository_root
from mlops.core.version import installed_version
from mlops.spec.loader import LoadedSpec

from ..result import BaselinePin, FileFingerprint, Pins
from .paths import repository_path

BASELINE_GATES = frozenset({"model", "bench", "load"})
"""The gates that read the baseline model (and so pin it)."""


def fingerprint(path: Path, root: Path) -> FileFingerprint:
    """`path`'s digest and size; `root` is the repository its path is shown relative to."""
    digest, size = file_digest(path)
    shown = repository_path(path, root) or path.name
    return FileFingerprint(path=shown, sha256=digest, bytes=size,
                           rows=_parquet_rows(path) if path.suffix == ".parquet" else None)


def _parquet_rows(path: Path) -> int | None:
    try:
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception:  # not readable as Parquet: the data gate says why; the digest still pins it
        return None


def pin(loaded: LoadedSpec, gates: Collection[str]) -> Pins:
    """The pins of a run of `gates` on `loaded`."""
    spec = loaded.spec
    root = repository_root(loaded.root)
    model = loaded.resolve(spec.model.artifact)
    declared = (spec.data.train, spec.data.test, spec.data.reference_path, spec.data.current)
    data = [fingerprint(loaded.resolve(name), root)
            for name in dict.fromkeys(n for n in declared if n) if loaded.resolve(name).is_file()]
    return Pins(tool_version=installed_version(), spec_sha256=digest_of(loaded.path.read_bytes()),
                model=fingerprint(model, root) if model.is_file() else None,
                baseline_model=_baseline(loaded) if BASELINE_GATES & set(gates) else None,
                data=data)


def _baseline(loaded: LoadedSpec) -> BaselinePin | None:
    # GitPython, imported here only: it refuses to import where no git executable is, such as
    # the serving image the in-cluster monitor (which pins no baseline) runs in.
    from ..baseline import BaselineUnavailable, read_baseline

    settings = loaded.spec.model.baseline
    if settings is None:
        return None
    try:
        found = read_baseline(loaded.root, settings.ref, loaded.spec.model.artifact)
    except BaselineUnavailable:
        return None
    if found.model is None:
        return None
    return BaselinePin(ref=found.ref, commit=found.commit, sha256=digest_of(found.model))
