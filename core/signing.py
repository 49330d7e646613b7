"""Model signatures with OpenSSF model-signing: sign an ONNX file, and check a signature of it.

A signature is a Sigstore bundle over the file's SHA-256. It is trusted one of two ways: made with
the private half of a public key the team keeps in the repository (key mode), or made keyless by
a Sigstore identity, e.g. the release workflow's GitHub OIDC identity (checked against the
Sigstore trust root the installed sigstore package ships). Both checks run offline. `check` says
which way a model fails in one sentence that names the files: no signature, a signature someone
else made, or a file changed after signing.

model-signing (the `signing` extra) is imported only here and only when used, so nothing else
pays for it. Its `Config` classes have an unannotated `__init__` (hence the `type: ignore`s).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import MlopsError

if TYPE_CHECKING:
    from model_signing.verifying import Config as VerifyConfig

EXTRA_HINT = "install the signing extra: pip install 'mlops-yaml[signing]'"
MODIFIED = "Signature mismatch"
"""How model-signing starts the ValueError of a file whose hash is not the signed one."""
OTHER_KEY = "Key mismatch"
"""... and the one of a signature made with another key than the public key given."""


class SignatureError(MlopsError):
    """A model that must not be served: unsigned, signed by someone else, or changed."""


@dataclass(frozen=True)
class Trust:
    """Who must have signed the model, and where its signature is. Paths are absolute (or
    relative to the working folder); messages show them relative to `root`."""

    signature: str
    root: str = ""
    public_key: str | None = None
    identity: str | None = None
    issuer: str | None = None

    def shown(self, path: str | Path) -> str:
        """`path` as messages show it: relative to `root` when inside it."""
        if self.root:
            relative = os.path.relpath(path, self.root)
            if not relative.startswith(".."):
                return Path(relative).as_posix()
        return str(path)

    @property
    def signer(self) -> str:
        """Who signs, in words: the key or the identity."""
        if self.public_key is not None:
            return f"the key {self.shown(self.public_key)}"
        return f"{self.identity} (issuer {self.issuer})"


def _model_signing() -> None:
    """Fail with how to install it, when the extra is missing."""
    try:
        import model_signing  # noqa: F401
    except ImportError:
        raise MlopsError(f"verifying and signing models needs model-signing; {EXTRA_HINT}") from None


def sign_with_key(model: Path, signature: Path, private_key: Path, password: str | None = None
                  ) -> None:
    """Sign `model` with an elliptic-curve private key (PEM), writing `signature`."""
    _model_signing()
    from model_signing.signing import Config

    if not model.is_file():
        raise MlopsError(f"{model}: model file not found")
    try:
        # model-signing declares the password a str but hands it to `cryptography`, which reads
        # bytes only
        secret: Any = password.encode() if password is not None else None
        config = Config().use_elliptic_key_signer(  # type: ignore[no-untyped-call]
            private_key=private_key, password=secret)
    except (OSError, ValueError, TypeError) as error:
        raise MlopsError(f"{private_key}: cannot read the private key: {error}") from None
    signature.parent.mkdir(parents=True, exist_ok=True)
    config.sign(model, signature)


def sign_keyless(model: Path, signature: Path) -> None:
    """Sign `model` with Sigstore, as the identity the environment's OIDC token names (a GitHub
    Actions job with `id-token: write`), else through the browser flow."""
    _model_signing()
    from model_signing.signing import Config

    if not model.is_file():
        raise MlopsError(f"{model}: model file not found")
    signature.parent.mkdir(parents=True, exist_ok=True)
    try:
        Config().use_sigstore_signer(use_ambient_credentials=True).sign(model, signature)  # type: ignore[no-untyped-call]
    except Exception as error:  # OIDC, Fulcio and Rekor failures have no common type
        raise MlopsError(f"{model}: keyless signing failed: {error}") from None


def _verifier(trust: Trust, model: str) -> VerifyConfig:
    from model_signing.verifying import Config

    if trust.public_key is not None:
        if not os.path.isfile(trust.public_key):
            raise SignatureError(f"{model}: public key {trust.shown(trust.public_key)} not found")
        try:
            return Config().use_elliptic_key_verifier(public_key=trust.public_key)  # type: ignore[no-untyped-call]
        except ValueError as error:
            raise SignatureError(f"{model}: cannot read the public key "
                                 f"{trust.shown(trust.public_key)}: {error}") from None
    if trust.identity is None or trust.issuer is None:
        raise SignatureError(f"{model}: a signature is checked with a public key or a Sigstore "
                             "identity and its issuer; none was given")
    try:
        with tempfile.TemporaryDirectory(prefix="mlops-sigstore-") as folder:
            trust_config = _shipped_trust_config(Path(folder))
            return Config().use_sigstore_verifier(  # type: ignore[no-untyped-call]
                identity=trust.identity, oidc_issuer=trust.issuer, trust_config=trust_config)
    except Exception as error:  # TUF's cache and format errors have no common type
        raise SignatureError(f"{model}: cannot load Sigstore's trust root to check the "
                             f"signature: {error}") from None


def _shipped_trust_config(folder: Path) -> Path:
    """Sigstore's public-good trust root as the installed sigstore package ships it, written to
    `folder` as a client trust config file for model-signing.

    Offline on purpose: the server's NetworkPolicy allows no egress, and a pod must not fail to
    start because Sigstore's CDN is slow. A signature keeps verifying until Sigstore rotates its
    keys; then upgrade sigstore (pip install -U 'mlops-yaml[signing]'). The package's own
    `production(offline=True)` reads the shipped files (its cache goes under HOME, /tmp in the
    image); its wrapped protobuf message is the only way to serialise it (`_inner`).
    """
    from sigstore.models import ClientTrustConfig

    quiet = logging.getLogger("sigstore")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "loaded in offline mode": the point, not a warning
    try:
        config = ClientTrustConfig.production(offline=True)
    finally:
        quiet.setLevel(level)
    path = folder / "trust_config.json"
    path.write_text(config._inner.to_json())
    return path


def check(model: Path, trust: Trust) -> None:
    """Return when `model` is the file `trust`'s signer signed; else raise `SignatureError`."""
    _model_signing()
    from sigstore.errors import Error as SigstoreError

    shown = trust.shown(model)
    signature = trust.shown(trust.signature)
    if not model.is_file():
        raise SignatureError(f"{shown}: model file not found")
    if not os.path.isfile(trust.signature):
        raise SignatureError(f"{shown}: not signed: no signature at {signature}")
    verifier = _verifier(trust, shown)
    try:
        verifier.verify(model, Path(trust.signature))
    except json.JSONDecodeError as error:
        raise SignatureError(f"{shown}: signature {signature} is not a Sigstore bundle "
                             f"(not JSON: {error})") from None
    except SigstoreError as error:  # the identity's policy, or a bundle without a certificate
        raise SignatureError(f"{shown}: signature {signature} was not made by {trust.signer} "
                             f"(signed by someone else?): {error}") from None
    except ValueError as error:
        # model-signing raises ValueError for every failure; its message says which one.
        text = str(error)
        if text.startswith(MODIFIED):
            raise SignatureError(f"{shown}: signature {signature} does not match the file "
                                 "(modified after signing?)") from None
        if text.startswith(OTHER_KEY):
            raise SignatureError(f"{shown}: signature {signature} was not made by "
                                 f"{trust.signer} (signed by someone else?)") from None
        raise SignatureError(f"{shown}: signature {signature} cannot be checked: "
                             f"{text.splitlines()[0] if text else type(error).__name__}") from None
    except (KeyError, TypeError) as error:
        raise SignatureError(f"{shown}: signature {signature} is not a Sigstore bundle "
                             f"({type(error).__name__}: {error})") from None
