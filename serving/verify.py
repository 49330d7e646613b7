"""Before the port opens: check the model's signature when `serving.verify` asks for it.

A model that fails the check never serves (the caller turns `SignatureError` into one line and a
non-zero exit); with no check asked for, the server starts and logs once that nobody vouched for
the file it serves.
"""

from __future__ import annotations

import logging
from pathlib import Path

from mlops.core.signing import SignatureError, check

from .config import ServerConfig

__all__ = ["SignatureError", "verify_before_serving"]
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
