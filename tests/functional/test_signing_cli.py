"""`mlops sign` and `mlops verify` as a user runs them: an encrypted key and its password, and every
mistake a line and an exit code (2 for usage), never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.serving.serve_helpers import MLOPS, make_project
from tests.spec.test_challenger import ROUTED
from tests.specs import edit_spec


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MLOPS, *args], capture_output=True, text=True, cwd=cwd, timeout=120,
                          env={**os.environ, **(env or {})}, check=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project trusting keys/team.pub, whose private key is team.pem, encrypted with 'secret'."""
    make_project(tmp_path, serving={"port": 8080, "verify": {"public_key": "keys/team.pub"}})
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "team.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret")))
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "team.pub").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return tmp_path


def test_an_encrypted_key_signs_with_the_password_from_the_environment(project: Path) -> None:
    signed = run("sign", "mlops.yaml", "--key", "team.pem", "--password-env", "TEAM_KEY_PASSWORD",
                 cwd=project, env={"TEAM_KEY_PASSWORD": "secret"})
    assert (signed.returncode, signed.stdout) == (
        0, "signed models/model.onnx: models/model.onnx.sig\n"), signed.stderr
    assert run("verify", "mlops.yaml", cwd=project).returncode == 0


@pytest.mark.parametrize(("args", "env", "code", "message"), [
    (("--key", "team.pem", "--keyless"), {}, 2,
     "give --key PRIVATE_KEY (key mode) or --keyless (Sigstore), one of them"),
    ((), {}, 2, "give --key PRIVATE_KEY (key mode) or --keyless (Sigstore), one of them"),
    (("--key", "team.pem", "--password-env", "UNSET_PASSWORD"), {}, 2,
     "--password-env: UNSET_PASSWORD is not set"),
    (("--key", "team.pem"), {}, 1,
     "team.pem: cannot read the private key: Password was not given but private key is encrypted"),
    (("--key", "missing.pem"), {}, 1,
     "missing.pem: cannot read the private key: [Errno 2] No such file or directory: "
     "'missing.pem'"),
])
def test_mistakes_are_one_line(project: Path, args: tuple[str, ...], env: dict[str, str],
                               code: int, message: str) -> None:
    done = run("sign", "mlops.yaml", *args, cwd=project, env=env)
    assert (done.returncode, done.stderr) == (code, message + "\n")
    assert not (project / "models" / "model.onnx.sig").exists()


def test_a_wrong_password_is_refused(project: Path) -> None:
    done = run("sign", "mlops.yaml", "--key", "team.pem", "--password-env", "TEAM_KEY_PASSWORD",
               cwd=project, env={"TEAM_KEY_PASSWORD": "wrong"})
    assert done.returncode == 1
    assert done.stderr.startswith("team.pem: cannot read the private key: ")
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1


def test_verify_needs_someone_to_trust(tmp_path: Path) -> None:
    make_project(tmp_path)
    done = run("verify", "mlops.yaml", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (
        1, "mlops.yaml: serving.verify is not set: nothing says who must have signed the model\n")


def test_a_challenger_is_signed_and_verified_beside_the_champion(project: Path) -> None:
    """The challenger's Deployment runs the same image and checks its own `<model>.sig`."""
    shutil.copy(project / "models" / "model.onnx", project / "models" / "challenger.onnx")
    edit_spec(project / "mlops.yaml", {
        "serving.challenger": {"model": "models/challenger.onnx", "mode": "shadow"},
        "serving.request_log": {"path": "logs"}, "deploy.environments": ROUTED})
    signed = run("sign", "mlops.yaml", "--key", "team.pem", "--password-env", "TEAM_KEY_PASSWORD",
                 cwd=project, env={"TEAM_KEY_PASSWORD": "secret"})
    assert (signed.returncode, signed.stdout) == (
        0, "signed models/model.onnx: models/model.onnx.sig\n"
           "signed models/challenger.onnx: models/challenger.onnx.sig\n"), signed.stderr
    assert run("verify", "mlops.yaml", cwd=project).stdout.count(" verified, signed by ") == 2
    (project / "models" / "challenger.onnx.sig").unlink()
    done = run("verify", "mlops.yaml", cwd=project)
    assert done.returncode == 1 and "models/challenger.onnx" in done.stderr, done.stderr
