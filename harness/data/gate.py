"""The data gate: schema, quality and drift of the spec's data files, read once each, streaming.

Each distinct file (train, test, reference, current) is scanned once (`scan`): its parts on every
core at once, keeping only tallies (counts and the first offending row), one 8-byte fingerprint per
row for duplicates, exact category counts and a bounded row sample of the drift features
(`harness.stats.sketch`), merged in file order. `rules` turns each file's tallies into checks.

Check names are `<split>.<check>` (`train.columns`, `current.ranges`...) and `drift.<feature>`.
A feature whose drift score crosses the threshold fails (it is a release gate: a shifted feature
must stop the release) unless `drift.feature_severity` is `warn`; `drift.dataset` adds the spec's
drifted-feature fraction verdict (`drift`, shared with the monitor).
"""

from __future__ import annotations

from mlops.core.errors import MlopsError
from mlops.spec.loader import LoadedSpec
from mlops.spec.models import Data

from ..engine import Engine, data_engine, open_engine
from ..gate import GateOptions
from ..result import CheckResult, GateResult
from ..stats import DriftScore, score_categories, score_numeric
from .drift import DriftVerdict, is_numeric, judge
from .fileset import FileSet, located
from .rules import CHECK, NAME, file_checks
from .scan import FileScan


class DataGate:
    """Schema, quality and drift checks of the spec's data."""

    name = NAME

    def run(self, loaded: LoadedSpec, options: GateOptions) -> GateResult:
        data = loaded.spec.data
        with open_engine(*data_engine(data, options.engine, options.address)) as engine:
            return self._run(loaded, engine)

    def _run(self, loaded: LoadedSpec, engine: Engine) -> GateResult:
        data = loaded.spec.data
        drifting = data.drift.features or data.features
        numeric = [f for f in drifting if is_numeric(data.columns[f])]
        categorical = [f for f in drifting if not is_numeric(data.columns[f])]
        dtypes = {name: column.dtype for name, column in data.columns.items()}
        checks: list[CheckResult] = []
        scans: dict[str, FileScan | None] = {}
        for split, relative in _splits(data):
            if relative in scans:
                continue
            sampled = data.current is not None and relative in (data.reference_path, data.current)
            try:
                with located(loaded, relative):
                    dataset = FileSet.open(relative, loaded.root, data.format, dtypes)
                scan = FileScan(dataset, data, numeric if sampled else [],
                                categorical if sampled else []).scan(engine)
            except MlopsError as error:
                checks.append(CHECK(f"{split}.file", "fail", str(error)))
                scans[relative] = None
                continue
            scans[relative] = scan
            checks.extend(file_checks(split, scan, loaded.spec.model.task != "regression"))
        verdict = _drift(data, scans, numeric + categorical)
        checks.extend(verdict.checks)
        return GateResult(gate=NAME, checks=checks, charts=verdict.charts)


GATE = DataGate()


def _splits(data: Data) -> list[tuple[str, str]]:
    splits = [("train", data.train), ("test", data.test), ("reference", data.reference_path)]
    if data.current:
        splits.append(("current", data.current))
    return splits


def _drift(data: Data, scans: dict[str, FileScan | None], features: list[str]) -> DriftVerdict:
    """The current file against the reference, feature by feature, when both could be read."""
    if data.current is None:
        return DriftVerdict([CHECK("drift", "skip", "no data.current in the spec: drift not checked "
                                   f"(set it to a fresh batch to compare with {data.reference_path})")])
    reference, current = scans.get(data.reference_path), scans.get(data.current)
    if reference is None or current is None:
        unreadable = data.reference_path if reference is None else data.current
        return DriftVerdict([CHECK("drift", "skip", f"drift not checked: {unreadable} could not be "
                                                    "read")])
    compared = {feature: _unusable(feature, reference, current)
                or _score(feature, data, reference, current) for feature in features}
    return judge(CHECK, data.drift, compared, feature_severity=data.drift.feature_severity)


def _unusable(feature: str, reference: FileScan, current: FileScan) -> str:
    for scan in (reference, current):
        if feature not in scan.columns:
            return f"missing from {scan.dataset.display}"
        if feature in scan.dataset.problems:
            return f"wrong dtype in {scan.dataset.display}"
    return ""


def _score(feature: str, data: Data, reference: FileScan, current: FileScan) -> DriftScore:
    method = data.drift.method
    if feature in reference.categorical:
        return score_categories(method, reference.tallies.categorical[feature].counts,
                                current.tallies.categorical[feature].counts)
    assert reference.sample is not None and current.sample is not None
    return score_numeric(method, reference.sample.column(reference.numeric.index(feature)),
                         current.sample.column(current.numeric.index(feature)), data.drift.bins)
