"""serving.verify on real processes: a model signed with `mlops sign --key` (a real P-256 key pair,
OpenSSF model-signing's key mode, offline) is served; the same server refuses to start, with one
line naming the file and the reason, on a model changed by one byte, an unsigned model, and a
model signed with another key; with verification off it serves and warns once."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.keys import key_pair
from tests.serving.serve_helpers import FEATURES, MLOPS, Server, free_port, make_project

ROW = dict(zip(FEATURES, (1.0, 2.0, 0.0, 1.0), strict=True))
VERIFY = {"port": 8080, "verify": {"public_key": "keys/team.pub"}}


def _project(root: Path) -> tuple[Path, Path]:
    """A project whose spec trusts keys/team.pub; returns (spec, the matching private key)."""
    spec = make_project(root, serving=VERIFY)
    private, _ = key_pair(root / "keys", "team")
    return spec, private


def _mlops(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MLOPS, *args], cwd=project, capture_output=True, text=True,
                          timeout=120, check=False)


def _refused(project: Path) -> str:
    """Start `mlops serve` in `project`, which must refuse: its one line of stderr."""
    done = _mlops(project, "serve", "mlops.yaml", "--port", str(free_port()))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def _flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_signed_model_serves_and_the_same_model_changed_by_one_byte_is_refused(
        tmp_path: Path) -> None:
    spec, private = _project(tmp_path)
    signed = _mlops(tmp_path, "sign", "mlops.yaml", "--key", str(private))
    assert (signed.returncode, signed.stdout) == (
        0, "signed models/model.onnx: models/model.onnx.sig\n"), signed.stderr
    checked = _mlops(tmp_path, "verify", "mlops.yaml")
    assert (checked.returncode, checked.stdout) == (
        0, "models/model.onnx: signature models/model.onnx.sig verified, signed by the key "
           "keys/team.pub\n"), checked.stderr
    server = Server(spec, "--no-access-log")
    try:
        reply = server.request("POST", "/predict", {"instances": [ROW]})
        assert reply.status == 200, reply.body
        logged = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
        assert {"level": "info", "logger": "mlops.serve",
                "message": "signature of models/model.onnx verified: signed by the key "
                           "keys/team.pub"} in [
            {key: entry[key] for key in ("level", "logger", "message")} for entry in logged]
    finally:
        assert server.stop() == 0, server.output()

    _flip_one_byte(tmp_path / "models" / "model.onnx")
    assert _refused(tmp_path) == (
        "mlops.yaml: cannot serve: models/model.onnx: signature models/model.onnx.sig does not "
        "match the file (modified after signing?)")
    checked = _mlops(tmp_path, "verify", "mlops.yaml")
    assert (checked.returncode, checked.stderr) == (
        1, "models/model.onnx: signature models/model.onnx.sig does not match the file "
           "(modified after signing?)\n")


def test_an_unsigned_model_is_refused(tmp_path: Path) -> None:
    _project(tmp_path)
    assert _refused(tmp_path) == (
        "mlops.yaml: cannot serve: models/model.onnx: not signed: no signature at "
        "models/model.onnx.sig")


def test_a_model_signed_with_another_key_is_refused(tmp_path: Path) -> None:
    _project(tmp_path)
    other, _ = key_pair(tmp_path / "elsewhere", "other")
    assert _mlops(tmp_path, "sign", "mlops.yaml", "--key", str(other)).returncode == 0
    assert _refused(tmp_path) == (
        "mlops.yaml: cannot serve: models/model.onnx: signature models/model.onnx.sig was not "
        "made by the key keys/team.pub (signed by someone else?)")


def test_a_trusted_identity_refuses_a_key_signature_offline(tmp_path: Path) -> None:
    """Keyless mode checks against the trust root the sigstore package ships: no network (this
    machine reaches no Sigstore service), its cache under HOME (/tmp in the image)."""
    identity = "https://github.com/acme/tiny/.github/workflows/mlops-tiny-release.yml@refs/heads/main"
    spec = make_project(tmp_path, serving={"port": 8080, "verify": {"identity": identity}})
    other, _ = key_pair(tmp_path / "elsewhere", "other")
    assert _mlops(tmp_path, "sign", "mlops.yaml", "--key", str(other)).returncode == 0
    done = subprocess.run([MLOPS, "serve", spec.name, "--port", str(free_port())], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "HOME": str(tmp_path / "home")})
    assert (done.returncode, done.stderr) == (
        1, f"mlops.yaml: cannot serve: models/model.onnx: signature models/model.onnx.sig was not "
           f"made by {identity} (issuer https://token.actions.githubusercontent.com) (signed by "
           "someone else?): expected certificate in bundle\n")


def test_a_signature_that_is_not_a_bundle_is_refused(tmp_path: Path) -> None:
    _project(tmp_path)
    (tmp_path / "models" / "model.onnx.sig").write_text("not a signature")
    assert _refused(tmp_path) == (
        "mlops.yaml: cannot serve: models/model.onnx: signature models/model.onnx.sig is not a "
        "Sigstore bundle (not JSON: Expecting value: line 1 column 1 (char 0))")


def test_without_verification_the_model_serves_with_one_warning(tmp_path: Path) -> None:
    spec = make_project(tmp_path)
    server = Server(spec, "--no-access-log")
    try:
        assert server.request("POST", "/predict", {"instances": [ROW]}).status == 200
        warnings = [entry for entry in map(json.loads, filter(
            lambda line: line.startswith("{"), server.output().splitlines()))
            if entry["level"] == "warning"]
        model = tmp_path / "models" / "model.onnx"
        assert [(entry["logger"], entry["message"]) for entry in warnings] == [
            ("mlops.serve", f"serving {model} without verifying its signature "
                            "(serving.verify is not set)")]
    finally:
        assert server.stop() == 0, server.output()


def test_no_verify_serves_an_unsigned_candidate(tmp_path: Path) -> None:
    """What the load gate and the checks gate run: a candidate is signed only on release."""
    spec, _ = _project(tmp_path)
    server = Server(spec, "--no-access-log", "--no-verify")
    try:
        assert server.request("POST", "/predict", {"instances": [ROW]}).status == 200
    finally:
        assert server.stop() == 0, server.output()


def test_the_check_travels_to_worker_processes_and_follows_another_model(tmp_path: Path) -> None:
    """Workers read the config from JSON; `--model` is checked against its own `.sig`."""
    from mlops.serving.config import ServerConfig
    from mlops.spec.loader import load_spec

    spec, _ = _project(tmp_path)
    config = ServerConfig.from_spec(load_spec(spec, check_files=False))
    assert config.verify is not None
    assert ServerConfig.from_json(config.to_json()) == config
    other = tmp_path / "candidates" / "model.onnx"
    moved = config.with_overrides(model=other)
    assert moved.verify is not None and moved.verify.signature == f"{other}.sig"
    assert config.with_overrides(model=other, verify=False).verify is None


def test_mlops_build_is_told_when_its_image_would_not_serve(tmp_path: Path) -> None:
    from mlops.serving.verify import image_warning
    from mlops.spec.loader import load_spec

    spec, private = _project(tmp_path)
    assert image_warning(load_spec(spec, check_files=False)) == (
        "warning: models/model.onnx: not signed: no signature at models/model.onnx.sig; the "
        "image's server will refuse to start (mlops sign)")
    assert _mlops(tmp_path, "sign", "mlops.yaml", "--key", str(private)).returncode == 0
    assert image_warning(load_spec(spec, check_files=False)) is None
    _flip_one_byte(tmp_path / "models" / "model.onnx")
    assert image_warning(load_spec(spec, check_files=False)) == (
        "warning: models/model.onnx: signature models/model.onnx.sig does not match the file "
        "(modified after signing?); the image's server will refuse to start (mlops sign)")
    assert image_warning(load_spec(make_project(tmp_path / "unverified"), check_files=False)) is None
