"""data.* locations: a relative file, folder or glob, or an object-store URI; validation opens no
remote location and names a bad one where it is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.spec.test_install_and_paths import errors, with_changes
from tests.specs import location


@pytest.mark.parametrize("written", ["s3://bucket/train/", "gs://bucket/train/*.parquet",
                                     "abfs://container@account.dfs.core.windows.net/train",
                                     "data/*.csv", "data"])
def test_datasets_and_uris_are_accepted(written: str) -> None:
    assert errors(with_changes({"data.current": written})) == []


def test_a_remote_location_is_not_opened_and_a_local_one_is(tmp_path: Path) -> None:
    (tmp_path / "data/batches").mkdir(parents=True)
    (tmp_path / "data/batches/b-1.csv").write_text("x\n1\n")
    text = with_changes({"data.current": "s3://no-such-bucket/current/",
                         "data.train": "data/batches", "data.test": "data/*/*.csv",
                         "data.reference": "data/nothing-*.csv", "model.train": "python t.py"})
    assert [e for e in errors(text, tmp_path, check_files=True) if ": data." in e] == [
        f"mlops.yaml:{location(text, 'data.reference')}: data.reference: file not found: "
        "data/nothing-*.csv"]


@pytest.mark.parametrize(("written", "message"), [
    ("http://host/train.csv", "unsupported URI scheme 'http://'; expected a path relative to the "
                              "spec's folder or an s3://, gs:// or abfs:// URI"),
    ("s3://", "expected a bucket (and a prefix) after 's3://', got 's3://'"),
    ("../train.csv", "expected a path relative to the spec's folder (no leading '/', no '..'), "
                     "got '../train.csv'"),
])
def test_a_bad_location_is_located(written: str, message: str) -> None:
    text = with_changes({"data.current": written})
    assert errors(text) == [f"mlops.yaml:{location(text, 'data.current')}: data.current: "
                            f"{message}"]


def test_the_engine_is_local_or_ray() -> None:
    assert errors(with_changes({"data.engine": "ray", "data.ray_address": "ray://head:10001"})) == []
    text = with_changes({"data.engine": "spark"})
    assert errors(text) == [f"mlops.yaml:{location(text, 'data.engine')}: data.engine: expected "
                            "one of 'local', 'ray', got 'spark'"]
