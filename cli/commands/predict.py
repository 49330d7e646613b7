"""`mlops predict`: batch scoring of a dataset into a folder of Parquet files.

Exit 0: every row scored and the output committed (`_SUCCESS` written); 1: the input, the model or
the output folder stopped the run (nothing written); 2: a usage mistake.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import click

from mlops.core.errors import UsageError
from mlops.spec.loader import load_spec
from mlops.spec.models import DataEngine

from .options import spec_argument


@click.command()
@spec_argument
@click.option("--input", "source", default=None,
              help="Rows to score: a file, folder, glob or s3://, gs://, abfs:// URI "
                   "(default: batch.input).")
@click.option("--output", "destination", default=None,
              help="Folder for the predictions; must hold no data yet (default: batch.output).")
@click.option("--key", "keys", multiple=True,
              help="Input column copied to each prediction row; repeatable (default: batch.keys).")
@click.option("--model", "model_path", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Another ONNX file with the same contract (default: "
                                 "model.artifact).")
@click.option("--model-version", default=None,
              help="Version written beside each prediction (default: MLOPS_MODEL_VERSION, else "
                   "the model digest's first 12 hex digits, as the server reports it).")
@click.option("--engine", type=click.Choice(["local", "ray"]), default=None,
              help="local: this machine's cores; ray: one Ray task per part (default: "
                   "batch.engine, else data.engine).")
@click.option("--address", default=None,
              help="Ray cluster to join, e.g. ray://head:10001 (default: data.ray_address, else "
                   "RAY_ADDRESS, else a cluster on this machine).")
def predict(spec_path: Path, source: str | None, destination: str | None, keys: tuple[str, ...],
            model_path: Path | None, model_version: str | None, engine: str | None,
            address: str | None) -> None:
    """Score a dataset with the spec's model (the server's contract and schema rules) and write
    Parquet: key columns, label and class probabilities (or the prediction), model version and
    digest, scoring time."""
    from mlops.harness.batch.predict import model_source
    from mlops.harness.batch.predict import predict as run_predict
    from mlops.harness.data.fileset import located
    from mlops.harness.engine.base import data_engine, open_engine

    loaded = load_spec(spec_path, check_files=False)  # the image ships no training data
    spec = loaded.spec
    batch = spec.batch
    source = source or (batch.input if batch else None)
    destination = destination or (batch.output if batch else None)
    if source is None or destination is None:
        missing = "--input" if source is None else "--output"
        raise UsageError(f"{missing} is needed: give it, or set batch.input and batch.output in "
                         f"{spec_path}")
    chosen = keys or tuple(batch.keys if batch else ())
    artifact = model_path or loaded.resolve(spec.model.artifact)
    try:
        onnx = artifact.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read the model {artifact}: {error.strerror}") from None
    requested = cast("DataEngine | None", engine) or (batch.engine if batch else None)
    name, joined = data_engine(spec.data, requested, address)
    with open_engine(name, joined) as running, located(loaded, source):
        scored = run_predict(loaded, model_source(loaded, onnx, model_version), source,
                             destination, chosen, running)
    click.echo(f"{spec.name}: {scored.describe()}")
