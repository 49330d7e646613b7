"""`mlops build`: the serving image from the generated Dockerfile (compiling first when stale)."""

from __future__ import annotations

from pathlib import Path

import click

from mlops.spec.loader import load_spec

from .options import spec_argument


@click.command()
@spec_argument
@click.option("--tag", default=None, help="Image tag (default: the git short sha).")
@click.option("--network", default=None,
              help="Network for RUN steps, e.g. 'none' for an offline build from wheelhouse/ "
                   "(wheels beside MLOPS_YAML).")
@click.option("--model-version", envvar="MLOPS_MODEL_VERSION", default=None,
              help="The model version the image labels and the server reports (default: the "
                   "first 12 hex digits of the model's SHA-256). Env: MLOPS_MODEL_VERSION.")
@click.option("--quiet", "-q", is_flag=True, help="Do not print the build log.")
def build(spec_path: Path, tag: str | None, network: str | None, model_version: str | None,
          quiet: bool) -> None:
    """Build the serving image of MLOPS_YAML through the Docker API (honours DOCKER_HOST).

    The context is the spec's folder, filtered by the Dockerfile.dockerignore beside the generated
    Dockerfile. Prints the image reference, id and size, the context's size and the image's
    labels (commit, model version and digest, spec and data digests).
    """
    from mlops.compiler.compile import prepare, write
    from mlops.serving.image import build_image, git_tag
    from mlops.serving.verify import image_warning

    units = prepare([spec_path])
    if any(d.status.changes_disk for unit in units for d in unit.decisions):
        write(units)
        click.echo(f"compiled {spec_path} (generated files were out of date)", err=True)
    loaded = load_spec(spec_path, check_files=False)
    if warning := image_warning(loaded):
        click.echo(warning, err=True)
    dockerfile = loaded.root / loaded.spec.compile.output / "docker" / "Dockerfile"
    reference = f"{loaded.spec.deploy.image}:{tag or git_tag(loaded.root)}"
    image = build_image(loaded, dockerfile, reference, network,
                        (lambda line: None) if quiet else (lambda line: click.echo(line, err=True)),
                        model_version)
    click.echo(f"built {image.tag}\nimage id: {image.id}\n"
               f"size: {image.size_bytes} bytes ({image.size_bytes / 2**20:.1f} MiB)\n"
               f"context: {image.context.size_bytes} bytes in {len(image.context.files)} files")
    click.echo("labels:")
    for key, value in image.labels.items():
        click.echo(f"  {key}={value}")
