"""`serving.verify`: who must have signed the model. One way to trust a signature (a public key in
the repository, or a Sigstore identity), and every mistake located at the key that holds it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlops.cli.main import main
from mlops.spec.loader import load_spec
from mlops.spec.models import GITHUB_OIDC_ISSUER
from tests.projects import breast_cancer_project
from tests.specs import location

IDENTITY = ("https://github.com/acme/breast-cancer/.github/workflows/mlops-breast-cancer-release.yml"
            "@refs/heads/main")
"""What the release workflow of the suite's spec (deploy.repository acme/breast-cancer) signs as."""


def validate(capsys: pytest.CaptureFixture[str], spec: Path) -> tuple[int, str]:
    """The real CLI in-process: (exit code, stderr)."""
    with pytest.raises(SystemExit) as exited:
        main(["validate", str(spec)])
    return int(exited.value.code or 0), capsys.readouterr().err


def test_an_identity_defaults_to_github_s_issuer_and_the_signature_beside_the_model(
        tmp_path: Path) -> None:
    spec = breast_cancer_project(tmp_path, {"serving.verify": {"identity": IDENTITY}})
    verify = load_spec(spec).spec.serving.verify
    assert verify is not None
    assert (verify.issuer, verify.signature_path("models/model.onnx")) == (
        GITHUB_OIDC_ISSUER, "models/model.onnx.sig")


def test_a_public_key_in_the_repository_validates(tmp_path: Path) -> None:
    spec = breast_cancer_project(tmp_path, {"serving.verify": {
        "public_key": "keys/team.pub", "signature": "signatures/model.sig"}})
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "team.pub").write_text("-----BEGIN PUBLIC KEY-----\n")
    verify = load_spec(spec).spec.serving.verify
    assert verify is not None and verify.signature_path("models/model.onnx") == "signatures/model.sig"


@pytest.mark.parametrize(("verify", "key", "message"), [
    ({"public_key": "keys/missing.pub"}, "serving.verify.public_key",
     "file not found: keys/missing.pub"),
    ({"public_key": "/etc/team.pub"}, "serving.verify.public_key",
     "expected a path relative to the spec's folder (no leading '/', no '..'), got '/etc/team.pub'"),
    ({"public_key": "keys/team.pub", "identity": IDENTITY}, "serving.verify.identity",
     "give public_key or identity, not both: a signature is made one way"),
    ({"public_key": "keys/team.pub", "issuer": "https://accounts.google.com"},
     "serving.verify.issuer", "issuer goes with identity (keyless); a key signature has no issuer"),
    ({"identity": IDENTITY, "signature": "models/model.onnx"}, "serving.verify.signature",
     "the signature cannot be the model file itself"),
    ({"identity": IDENTITY.replace("@refs/heads/main", "@refs/heads/dev")},
     "serving.verify.identity",
     f"the release workflow signs the model as {IDENTITY}, so "
     f"'{IDENTITY.replace('@refs/heads/main', '@refs/heads/dev')}' would refuse every model it "
     "signs"),
])
def test_mistakes_are_located(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                              verify: dict[str, Any], key: str, message: str) -> None:
    spec = breast_cancer_project(tmp_path, {"serving.verify": verify})
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "team.pub").write_text("-----BEGIN PUBLIC KEY-----\n")
    code, err = validate(capsys, spec)
    where = location(spec.read_text(), key)
    assert (code, err) == (1, f"{spec}:{where}: {key}: {message}\n")


def test_another_issuer_s_identity_is_the_team_s_business(tmp_path: Path) -> None:
    """Only GitHub's identities are the release workflow's: another issuer's signer is trusted as
    written (a team that signs elsewhere)."""
    spec = breast_cancer_project(tmp_path, {"serving.verify": {
        "identity": "release@acme.example", "issuer": "https://accounts.google.com"}})
    verify = load_spec(spec).spec.serving.verify
    assert verify is not None and verify.identity == "release@acme.example"


def test_nobody_to_trust_is_located_at_the_section(capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path) -> None:
    spec = breast_cancer_project(tmp_path, {"serving.verify": {}})
    code, err = validate(capsys, spec)
    where = location(spec.read_text(), "serving.verify")
    assert (code, err) == (1, f"{spec}:{where}: serving.verify: expected public_key (key mode) or "
                              "identity (keyless, Sigstore): who must have signed the model\n")
