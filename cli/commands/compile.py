"""`mlops compile`: derive generated/ and .github/workflows/ from one or more specs.

`--check` and `--dry-run` run the same decisions as a real compile and only report them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from mlops.compiler.compile import DIGEST, Unit, prepare, write
from mlops.compiler.lock import Release
from mlops.compiler.targets import broken_targets
from mlops.compiler.writer import CHECK_LABELS, Status, unified_diff
from mlops.core.errors import MlopsError, UsageError
from mlops.serving.lineage import SHORT_DIGEST, version_problem


class OutOfDate(MlopsError):
    """`--check` found generated files that differ from what the spec compiles to."""


def _parse_promotions(values: Sequence[str]) -> dict[str, str]:
    promotions = {}
    for value in values:
        env, sep, digest = value.partition("=")
        if not sep or not env or not digest:
            raise UsageError(f"--promote {value}: expected ENV=sha256:DIGEST")
        promotions[env] = digest
    return promotions


def _release(model_digest: str | None, model_version: str | None,
             revision: str | None) -> Release | None:
    """The release the workflow vouches for (`--model-digest` and `--revision`), if any."""
    if model_digest is None and revision is None and model_version is None:
        return None
    if model_digest is None or revision is None:
        raise UsageError("--model-digest and --revision go together: the model the image serves "
                         "and the commit it was built from")
    if not DIGEST.match(model_digest):
        raise UsageError(f"--model-digest {model_digest}: expected 'sha256:' followed by 64 hex "
                         "digits")
    problem = version_problem(model_version or "", "--model-version")
    if problem:
        raise UsageError(problem)
    version = model_version or model_digest.removeprefix("sha256:")[:SHORT_DIGEST]
    return Release(model_digest, version, revision)


def _report_check(units: Sequence[Unit], show_diff: bool) -> None:
    for unit in units:
        for decision in unit.decisions:
            if decision.status is Status.IDENTICAL:
                continue
            label = CHECK_LABELS[decision.status]
            click.echo(f"{label}: {decision.path}")
            if show_diff and decision.status in (Status.UPDATE, Status.EDITED, Status.UNMANAGED):
                click.echo(unified_diff(decision, str(unit.spec_file)), nl=False)
    stale = [d for u in units for d in u.decisions if d.status is not Status.IDENTICAL]
    if stale:
        specs = " ".join(str(u.spec_file) for u in units)
        raise OutOfDate(f"mlops compile --check: {len(stale)} file(s) out of date; run "
                        f"`mlops compile {specs}` (generated files are never edited by hand: "
                        "change the spec or a template override instead)")
    for unit in units:
        click.echo(f"{unit.spec_file}: {len(unit.files)} generated files up to date")


def _report_plan(units: Sequence[Unit], show_diff: bool, written: bool) -> None:
    for unit in units:
        counts: dict[Status, int] = {}
        for decision in unit.decisions:
            counts[decision.status] = counts.get(decision.status, 0) + 1
        summary = ", ".join(f"{counts[s]} {s.value}" for s in Status if s in counts)
        verb = "compiled" if written else "would compile"
        click.echo(f"{verb} {unit.spec_file}: {summary}")
        for decision in unit.decisions:
            if decision.status is Status.IDENTICAL:
                continue
            note = " (hand edits overwritten)" if decision.status is Status.EDITED and written else ""
            click.echo(f"  {decision.status.value:<9} {decision.path}{note}")
            if show_diff and not written and decision.status in (Status.UPDATE, Status.EDITED):
                click.echo(unified_diff(decision, str(unit.spec_file)), nl=False)


@click.command("compile")
@click.argument("specs", metavar="[SPEC_OR_DIR]...", nargs=-1,
                type=click.Path(path_type=Path, exists=False))
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 if any generated file is missing, stale, edited by hand "
                   "or orphaned.")
@click.option("--dry-run", is_flag=True, help="Write nothing; print what compile would do.")
@click.option("--templates", type=click.Path(path_type=Path, exists=False), default=None,
              help="Folder of template overrides (before the spec's compile.templates).")
@click.option("--diff/--no-diff", "show_diff", default=True, show_default=True,
              help="Show unified diffs with --check and --dry-run.")
@click.option("--promote", "promotions", multiple=True, metavar="ENV=DIGEST",
              help="Pin ENV's overlay to an image digest (the release workflow's GitOps step).")
@click.option("--model-digest", metavar="sha256:DIGEST", default=None,
              help="With --promote: the image passed the release gates and serves this model; "
                   "recorded in the lock as a release a rollback may return to.")
@click.option("--model-version", default=None,
              help="With --model-digest: the model's version (default: the digest's first 12 "
                   "hex digits, as the image reports it).")
@click.option("--revision", default=None, metavar="COMMIT",
              help="With --model-digest: the commit the image was built from.")
def compile_command(specs: tuple[Path, ...], check: bool, dry_run: bool, templates: Path | None,
                    show_diff: bool, promotions: tuple[str, ...], model_digest: str | None,
                    model_version: str | None, revision: str | None) -> None:
    """Compile SPEC_OR_DIR (default: mlops.yaml; a folder: every mlops.yaml below it)."""
    if check and dry_run:
        raise UsageError("--check and --dry-run cannot be combined")
    if check and promotions:
        raise UsageError("--check and --promote cannot be combined")
    broken = broken_targets()
    for problem in broken:
        click.echo(f"{problem}; compiling without it (its earlier files are kept)", err=True)
    units = prepare(list(specs), templates=templates, promote=_parse_promotions(promotions),
                    release=_release(model_digest, model_version, revision),
                    keep_orphans=bool(broken))
    if check:
        _report_check(units, show_diff)
    elif dry_run:
        _report_plan(units, show_diff, written=False)
    else:
        write(units)
        _report_plan(units, show_diff, written=True)
    if broken:
        raise MlopsError(f"{len(broken)} target plugin(s) could not be loaded (above); the other "
                         "targets compiled")
