"""`mlops serve`: the inference server the generated Dockerfile runs (and the load gate hammers)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlops.core.errors import MlopsError, UsageError
from mlops.spec.loader import load_spec

from .options import spec_argument

if TYPE_CHECKING:
    from mlops.serving.config import Variant


@click.command()
@spec_argument
@click.option("--host", envvar="MLOPS_HOST", default="127.0.0.1", show_default=True,
              help="Interface to bind (the container passes 0.0.0.0). Env: MLOPS_HOST.")
@click.option("--port", envvar="MLOPS_PORT", type=click.IntRange(1, 65535), default=None,
              help="Port (default: serving.port). Env: MLOPS_PORT.")
@click.option("--workers", envvar="MLOPS_WORKERS", type=click.IntRange(1, 64), default=None,
              help="Server processes (default: serving.workers). Env: MLOPS_WORKERS.")
@click.option("--model", "model_path", envvar="MLOPS_MODEL", default=None,
              type=click.Path(path_type=Path, dir_okay=False),
              help="ONNX file to serve instead of model.artifact. Env: MLOPS_MODEL.")
@click.option("--request-log-dir", envvar="MLOPS_REQUEST_LOG_DIR", default=None,
              help="Folder for sampled request logs instead of serving.request_log.path. "
                   "Env: MLOPS_REQUEST_LOG_DIR.")
@click.option("--variant", envvar="MLOPS_VARIANT", type=click.Choice(("champion", "challenger")),
              default="champion", show_default=True,
              help="champion serves model.artifact; challenger serves serving.challenger.model. "
                   "Both log requests under the caller's x-request-id with their variant, for "
                   "`mlops monitor run` to join. Env: MLOPS_VARIANT.")
@click.option("--access-log/--no-access-log", default=True, show_default=True,
              help="One JSON line per request on stdout.")
@click.option("--no-verify", "skip_verify", is_flag=True,
              help="Do not check the model's signature (serving.verify): for load tests of an "
                   "unsigned candidate, never in production.")
def serve(spec_path: Path, host: str, port: int | None, workers: int | None,
          model_path: Path | None, request_log_dir: str | None, variant: Variant,
          access_log: bool, skip_verify: bool) -> None:
    """Serve the spec's ONNX model: Open Inference Protocol v2, /predict and /metrics."""
    # The data files are not needed to serve (and are not in the image): skip their checks.
    loaded = load_spec(spec_path, check_files=False)
    from mlops.serving.config import ServerConfig
    from mlops.serving.model import ModelError
    from mlops.serving.server import run
    from mlops.serving.verify import SignatureError

    try:
        resolved = ServerConfig.from_spec(loaded, variant)
    except ValueError as error:
        raise UsageError(f"{spec_path}: --variant {variant}: {error}") from None
    config = resolved.with_overrides(
        host=host, port=port, workers=workers, model=model_path, request_log_dir=request_log_dir,
        verify=not skip_verify)
    try:
        run(config, access_log=access_log)
    except (ModelError, SignatureError, OSError) as error:
        raise MlopsError(f"{spec_path}: cannot serve: {error}") from None
