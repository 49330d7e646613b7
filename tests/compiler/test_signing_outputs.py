"""What serving.verify changes in the generated files: the image carries the signature (and the
public key) next to the model and installs model-signing; the release job signs keyless and
attests the image when the spec trusts a GitHub identity; a committed signature (a key, or another
issuer's identity) is checked with the gates of every pull request and of the release; without
serving.verify nothing changes.

The fixture cases cover each: canary-argocd trusts an identity, regression a key (with its
signature in a folder of its own), breast-cancer nothing. actionlint, zizmor and the schema check
their workflows in test_github_actions.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from mlops.compiler.compile import prepare, write
from tests.compiler.test_docker import docker_dir, dockerfile
from tests.specs import breast_cancer, changed, write_spec


def _release(root: Path) -> dict[str, Any]:
    return _workflow(root, "release")


def _workflow(root: Path, kind: str) -> dict[str, Any]:
    [path] = sorted((root / ".github" / "workflows").glob(f"*-{kind}.yml"))
    data: dict[str, Any] = YAML(typ="safe").load(path.read_text())
    return data


def _checks_the_committed_signature(root: Path) -> None:
    """The PR's gates and the release's gates check it (with the signing extra); the image job,
    which runs after the release's gates, neither signs nor attests."""
    for job in (_workflow(root, "pr")["jobs"]["gates"], _release(root)["jobs"]["gates"]):
        names = _step_names(job)
        assert names.index("Check the model's signature") == names.index(
            "Run the release gates") + 1, names
        steps = {step["name"]: step for step in job["steps"]}
        assert steps["Check the model's signature"]["run"] == "mlops verify mlops.yaml"
        assert ",signing]" in steps["Install mlops"]["run"]
    job = _release(root)["jobs"]["image"]
    assert job["needs"] == "gates"
    assert "id-token" not in job["permissions"] and "attestations" not in job["permissions"]
    assert not [name for name in _step_names(job) if "ign" in name or "ttest" in name]


def _step_names(job: dict[str, Any]) -> list[str]:
    return [step["name"] for step in job["steps"]]


def test_keyless_signs_before_the_build_and_attests_the_pushed_image(
        compiled: Callable[[str], Path]) -> None:
    root = compiled("canary-argocd")
    text = dockerfile(root)
    assert "COPY models/churn.onnx models/churn.onnx.sig* /app/models/\n" in text
    assert "'mlops-yaml[serve,signing]==" in text
    ignore = (docker_dir(root) / "Dockerfile.dockerignore").read_text()
    assert "!models/churn.onnx\n!models/churn.onnx.sig\n" in ignore
    job = _release(root)["jobs"]["image"]
    assert job["permissions"] == {"contents": "read", "packages": "write", "id-token": "write",
                                  "attestations": "write"}
    names = _step_names(job)
    assert names[names.index("Set up Python"):] == [
        "Set up Python", "Install mlops", "Sign the model (Sigstore, keyless)",
        "Verify the model's signature", "Build the image", "Push the image and record its digest",
        "Attest the image's build provenance", "Make the image's SBOM", "Attest the SBOM"]
    steps = {step["name"]: step for step in job["steps"]}
    assert steps["Install mlops"]["run"].startswith("python -m pip install 'mlops-yaml[signing]==")
    assert steps["Sign the model (Sigstore, keyless)"]["run"] == "mlops sign --keyless mlops.yaml"
    digest = "${{ steps.push.outputs.digest }}"
    assert steps["Attest the image's build provenance"]["with"] == {
        "subject-name": "ghcr.io/acme/churn", "subject-digest": digest, "push-to-registry": True}
    assert steps["Make the image's SBOM"]["with"] == {
        "image": f"ghcr.io/acme/churn@{digest}", "format": "spdx-json",
        "output-file": "sbom.spdx.json", "upload-artifact": False}
    assert steps["Attest the SBOM"]["with"] == {
        "subject-name": "ghcr.io/acme/churn", "subject-digest": digest,
        "sbom-path": "sbom.spdx.json", "push-to-registry": True}


def test_key_mode_ships_the_key_and_checks_the_committed_signature(
        compiled: Callable[[str], Path]) -> None:
    root = compiled("regression")
    text = dockerfile(root)
    assert ("COPY models/price.onnx /app/models/price.onnx\n"
            "COPY signatures/price.onnx.sig /app/signatures/price.onnx.sig\n"
            "COPY keys/house-prices.pub /app/keys/house-prices.pub\n") in text
    assert "'mlops-yaml[serve,signing]==" in text
    _checks_the_committed_signature(root)


def test_without_verification_nothing_is_signed_or_shipped(
        compiled: Callable[[str], Path]) -> None:
    root = compiled("breast-cancer")
    text = dockerfile(root)
    assert ".sig" not in text and "signing" not in text
    job = _release(root)["jobs"]["image"]
    assert "id-token" not in job["permissions"]
    assert not [name for name in _step_names(job) if "ign" in name or "ttest" in name]


def test_another_issuer_s_signature_is_checked_not_made(tmp_path: Path) -> None:
    """The release job can sign only as itself: a signer of another issuer signs elsewhere and
    commits the signature, which the gates check, as in key mode."""
    spec = write_spec(tmp_path / "mlops.yaml", changed(breast_cancer(), {"serving.verify": {
        "identity": "release@acme.example", "issuer": "https://accounts.google.com"}}))
    write(prepare([spec]))
    _checks_the_committed_signature(tmp_path)
