"""The server's configuration as the spec resolves it."""

from __future__ import annotations

from pathlib import Path

from mlops.serving.config import ServerConfig
from mlops.spec.loader import load_spec
from tests.serving.serve_helpers import make_project


def test_a_relative_request_log_folder_is_under_the_spec_folder(tmp_path: Path) -> None:
    """As the monitor reads it, and as the image lays it out (/app/mlops.yaml, /app/logs), from
    whichever folder `mlops serve` is started."""
    spec = make_project(tmp_path, serving={"request_log": {"path": "logs/requests"}})
    config = ServerConfig.from_spec(load_spec(spec, check_files=False))
    assert config.request_log is not None
    assert config.request_log.path == str(tmp_path / "logs" / "requests")
    round_trip = ServerConfig.from_json(config.to_json())
    assert round_trip == config
