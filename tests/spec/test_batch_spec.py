"""`batch:` (defaults of `mlops predict`): data locations like `data.*`, key columns that cannot
clash with the columns the predictions are written in."""

from __future__ import annotations

import pytest

from tests.spec.test_install_and_paths import errors, with_changes
from tests.specs import location


def test_a_batch_section_is_accepted() -> None:
    assert errors(with_changes({"batch": {"input": "s3://team/scoring/dt=*/",
                                          "output": "predictions/", "keys": ["customer_id"],
                                          "engine": "ray"}})) == []


@pytest.mark.parametrize(("keys", "message"), [
    (["label"], "key column 'label' would clash with a predictions column (label, prediction, "
                "model_version, model_digest, scored_at, probability_<label>)"),
    (["probability_yes"], "key column 'probability_yes' would clash with a predictions column "
                          "(label, prediction, model_version, model_digest, scored_at, "
                          "probability_<label>)"),
    (["id", "id"], "key columns must be distinct"),
])
def test_a_key_that_would_clash_is_located(keys: list[str], message: str) -> None:
    text = with_changes({"batch": {"input": "data/current.csv", "output": "out", "keys": keys}})
    assert errors(text) == [f"mlops.yaml:{location(text, 'batch.keys')}: batch.keys: {message}"]


def test_an_unsupported_output_uri_is_located() -> None:
    text = with_changes({"batch": {"input": "data/current.csv", "output": "ftp://host/out"}})
    assert errors(text) == [
        f"mlops.yaml:{location(text, 'batch.output')}: batch.output: unsupported URI scheme "
        "'ftp://'; expected a path relative to the spec's folder or an s3://, gs:// or abfs:// URI"]
