"""`mlops sign` and `mlops verify`: the model's signature, made and checked as the server checks it.

`sign --key` is key mode, for teams with their own keys (and for tests); `sign --keyless` signs
with Sigstore as the identity of the environment's OIDC token, which is what the release workflow
does. The signature goes where `serving.verify.signature` says (default: the artifact's path
followed by `.sig`), so the image build copies it next to the model.
"""

from __future__ import annotations

from pathlib import Path

import click

from mlops.core.errors import MlopsError, UsageError
from mlops.core.signing import check, sign_keyless, sign_with_key
from mlops.spec.loader import LoadedSpec, load_spec

from .options import spec_argument


def _signed(loaded: LoadedSpec) -> dict[str, str]:
    """Each served model (model.artifact, serving.challenger.model) -> where its signature goes."""
    spec = loaded.spec
    found = spec.serving.signatures(spec.model.artifact)
    return found or {model: f"{model}.sig" for model in spec.served_models()}


@click.command()
@spec_argument
@click.option("--key", "private_key", type=click.Path(path_type=Path, dir_okay=False),
              help="Elliptic-curve private key (PEM) to sign with: key mode.")
@click.option("--password-env", metavar="NAME",
              help="Environment variable holding the private key's password, if it has one.")
@click.option("--keyless", is_flag=True,
              help="Sign with Sigstore as the identity of the environment's OIDC token (a GitHub "
                   "Actions job with id-token: write), else through the browser.")
def sign(spec_path: Path, private_key: Path | None, password_env: str | None,
         keyless: bool) -> None:
    """Sign the spec's ONNX model (OpenSSF model-signing), writing its signature file."""
    if (private_key is None) == (not keyless):
        raise UsageError("give --key PRIVATE_KEY (key mode) or --keyless (Sigstore), one of them")
    loaded = load_spec(spec_path, check_files=False)
    password = None
    if private_key is not None and password_env:
        import os

        if password_env not in os.environ:
            raise UsageError(f"--password-env: {password_env} is not set")
        password = os.environ[password_env]
    for model, signature in _signed(loaded).items():
        if private_key is not None:
            sign_with_key(loaded.resolve(model), loaded.resolve(signature), private_key, password)
        else:
            sign_keyless(loaded.resolve(model), loaded.resolve(signature))
        click.echo(f"signed {model}: {signature}")


@click.command()
@spec_argument
def verify(spec_path: Path) -> None:
    """Check the model's signature as `mlops serve` does (serving.verify): exit 0 or 1."""
    loaded = load_spec(spec_path, check_files=False)
    from mlops.serving.config import Variant, trust

    spec = loaded.spec
    variants: list[tuple[Variant, str]] = [("champion", spec.model.artifact)]
    if spec.serving.challenger is not None:
        variants.append(("challenger", spec.serving.challenger.model))
    for variant, model in variants:
        trusted = trust(loaded, variant)
        if trusted is None:
            raise MlopsError(f"{spec_path}: serving.verify is not set: nothing says who must "
                             "have signed the model")
        check(loaded.resolve(model), trusted)
        click.echo(f"{model}: signature {trusted.shown(trusted.signature)} verified, signed by "
                   f"{trusted.signer}")
