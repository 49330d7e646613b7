"""`mlops serve --variant`: the champion and a challenger log the same requests under one id."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops.cli.main import main
from mlops.serving.config import RequestLogConfig
from mlops.serving.request_log import RequestLogger
from tests.serving.serve_helpers import FEATURES, make_project


def test_sampling_follows_the_request_id_so_both_variants_log_the_same_requests(
        tmp_path: Path) -> None:
    """A coin toss per server would log different halves on each side: nothing to join."""
    config = RequestLogConfig(str(tmp_path), 0.25, "jsonl", 1)
    champion = RequestLogger(config, "tiny", FEATURES, "sha256:0")
    challenger = RequestLogger(config, "tiny", FEATURES, "sha256:1", "challenger")
    try:
        ids = [f"req-{i}" for i in range(4000)]
        chosen = [champion.sampled(i) for i in ids]
        assert chosen == [challenger.sampled(i) for i in ids]
        assert 0.2 < sum(chosen) / len(ids) < 0.3
    finally:
        champion.close()
        challenger.close()


def test_a_challenger_needs_serving_challenger(capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path) -> None:
    spec = make_project(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(["serve", str(spec), "--variant", "challenger"])
    assert (exited.value.code, capsys.readouterr().err) == (
        2, f"{spec}: --variant challenger: serving.challenger is not set: there is no "
           "challenger to serve\n")
