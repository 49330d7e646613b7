"""Before the port opens: check the model's signature when `serving.verify` asks for it.

A model that fails the check never serves (the caller turns `SignatureError` into one line and a
non-zero exit); with no check asked for, the server starts and logs once that nobody vouched for
the file it serves.
"""

from __future__ import annotations

import logging
from pathlib import Path

from mlops.core.errors import MlopsError
from mlops.core.signing import SignatureError, check
from mlops.spec.loader import LoadedSpec

from .config import ServerConfig, trust

__all__ = ["SignatureError", "image_warning", "verify_before_serving"]
log = logging.getLogger("mlops.serve")


def verify_before_serving(config: ServerConfig) -> None:
    """Raise `SignatureError` unless the model is signed as `config.verify` says; warn when
    `config.verify` is unset."""
    if config.verify is None:
        log.warning("serving %s without verifying its signature (serving.verify is not set)",
                    config.model_path)
        return
    check(Path(config.model_path), config.verify)
    log.info("signature of %s verified: signed by %s", config.verify.shown(config.model_path),
             config.verify.signer)


def image_warning(loaded: LoadedSpec) -> str | None:
    """Why an image built now would not serve (`mlops build` says so before building), or None.

    A missing signature is expected where the release workflow signs keyless before its own
    build; a local build of that checkout still refuses to start, so it is said either way.
    """
    trusted = trust(loaded)
    if trusted is None:
        return None
    model = loaded.resolve(loaded.spec.model.artifact)
    try:
        check(model, trusted)
    except MlopsError as error:  # a refusal, or model-signing not installed here
        return f"warning: {error}; the image's server will refuse to start (mlops sign)"
    return None
