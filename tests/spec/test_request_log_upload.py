"""serving.request_log.upload: an object-store prefix, named where it is written when it is not one;
validation opens nothing remote."""

from __future__ import annotations

import pytest

from tests.spec.test_install_and_paths import errors, with_changes
from tests.specs import REMOVE, location

KEY = "serving.request_log.upload"


@pytest.mark.parametrize("written", ["s3://bucket/requests", "gs://bucket/requests/",
                                     "abfs://logs@account.dfs.core.windows.net/requests"])
def test_an_object_store_prefix_is_accepted_unopened(written: str) -> None:
    assert errors(with_changes({"serving.request_log.claim": REMOVE, KEY: written})) == []


@pytest.mark.parametrize(("written", "message"), [
    ("logs/uploaded", "expected an s3://, gs:// or abfs:// URI (the local folder is "
                      "request_log.path), got 'logs/uploaded'"),
    ("http://host/logs", "unsupported URI scheme 'http://'; expected a path relative to the "
                         "spec's folder or an s3://, gs:// or abfs:// URI"),
    ("s3://", "expected a bucket (and a prefix) after 's3://', got 's3://'"),
    ("s3://bucket/logs/*", "expected a prefix without wildcards, got 's3://bucket/logs/*'"),
])
def test_a_bad_prefix_is_located(written: str, message: str) -> None:
    text = with_changes({"serving.request_log.claim": REMOVE, KEY: written})
    assert errors(text) == [f"mlops.yaml:{location(text, KEY)}: {KEY}: {message}"]


def test_a_claim_and_an_upload_are_not_both_set() -> None:
    text = with_changes({KEY: "s3://bucket/requests"})
    assert errors(text) == [
        f"mlops.yaml:{location(text, 'serving.request_log')}: serving.request_log: set claim or "
        "upload, not both: upload ships the log to object storage, where the monitor reads it; "
        "a claim shares a volume"]
