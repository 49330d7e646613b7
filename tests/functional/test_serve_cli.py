"""`mlops serve` as a user runs it: flags, environment overrides, and errors without tracebacks."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.serving.serve_helpers import MLOPS, Server, make_project
from tests.specs import location


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MLOPS, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_help_names_the_overrides(tmp_path: Path) -> None:
    result = run("serve", "--help", cwd=tmp_path)
    assert result.returncode == 0
    for flag in ("--host", "--port", "--workers", "--model", "--request-log-dir", "MLOPS_PORT"):
        assert flag in result.stdout


def test_missing_spec_is_a_located_error(tmp_path: Path) -> None:
    result = run("serve", "nope.yaml", cwd=tmp_path)
    assert (result.returncode, result.stderr.strip()) == (1, "nope.yaml:1:1: file not found")


@pytest.mark.parametrize(("content", "message"), [
    (None, "{spec}: cannot serve: model artifact not found: {path}"),
    (b"not an onnx file", "{spec}:{where}: model.artifact: models/model.onnx: not a valid ONNX "
                          "model (unsupported wire type 6 in field 13)"),
])
def test_unusable_model_is_refused_without_traceback(tmp_path: Path, content: bytes | None,
                                                     message: str) -> None:
    spec = make_project(tmp_path)
    model = tmp_path / "models" / "model.onnx"
    if content is None:
        model.unlink()
    else:
        model.write_bytes(content)
    result = run("serve", str(spec), "--port", "1", cwd=tmp_path)
    assert result.returncode == 1
    where = location(spec.read_text(), "model.artifact")
    assert result.stderr.startswith(message.format(spec=spec, path=model, where=where))
    assert "Traceback" not in result.stderr


def test_environment_overrides_port_and_model(tmp_path: Path) -> None:
    spec = make_project(tmp_path / "a")
    other = make_project(tmp_path / "b")
    (spec.parent / "models" / "model.onnx").unlink()  # only the override can make it serve
    server = Server(spec, env={"MLOPS_MODEL": str(other.parent / "models" / "model.onnx")})
    try:
        row = {"alpha": 1, "beta": 2, "gamma": 0, "delta": 1}
        assert server.request("POST", "/predict", {"instances": [row]}).status == 200
        assert '"event":"access"' in server.output()
    finally:
        assert server.stop() == 0
