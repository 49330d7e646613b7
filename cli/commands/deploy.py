"""`mlops history`, `mlops audit` and `mlops rollback`: an environment's deployments, from git.

The GitOps history of the compiler's lock is the deployment record (compiler.history); these
commands read it and, for a rollback, add to it with one commit.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import click

from mlops.core.errors import MlopsError, UsageError
from mlops.spec.loader import LoadedSpec, load_spec

from .options import spec_argument

if TYPE_CHECKING:
    from mlops.compiler.history import Promotion

environment_argument = click.argument("environment", metavar="ENV")
ref_option = click.option("--ref", default=None, metavar="REF",
                          help="The git ref whose history to read (default: deploy.branch, else "
                               "origin's).")


def _load(spec_path: Path) -> LoadedSpec:
    return load_spec(spec_path, check_files=False)


def _moment(value: str) -> datetime:
    """An ISO 8601 time; without a zone it is UTC (as CI logs and Argo CD print times)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--at {value}: expected an ISO 8601 time such as 2026-11-30T14:05:00Z "
                         "or 2026-11-30") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


@click.command()
@environment_argument
@spec_argument
@ref_option
@click.option("--json", "as_json", is_flag=True, help="Print the promotions as JSON.")
def history(environment: str, spec_path: Path, ref: str | None, as_json: bool) -> None:
    """What was promoted to ENV and when, newest first (from the git history of the lock)."""
    loaded = _load(spec_path)
    lock_path, promotions = _promotions(loaded, environment, ref)
    if as_json:
        click.echo(json.dumps([p.to_json() for p in reversed(promotions)], indent=2))
        return
    if not promotions:
        click.echo(f"{environment}: nothing promoted yet ({lock_path} has no image for it in the "
                   "git history)")
        return
    click.echo(f"{environment}: {len(promotions)} promotion(s), newest first, from the git "
               f"history of {lock_path}")
    for index, promotion in enumerate(reversed(promotions)):
        release = promotion.release
        model = (f"model {release.model_version} built from {release.revision[:12]}" if release
                 else "not a recorded release")
        live = "  <- live" if index == 0 else ""
        click.echo(f"  {_when(promotion.at)}  {promotion.image[:19]}  {model}  commit "
                   f"{promotion.commit[:12]}  by {promotion.author}{live}")


@click.command()
@environment_argument
@spec_argument
@click.option("--at", "at", required=True, metavar="TIME",
              help="ISO 8601 time, e.g. 2026-11-30T14:05:00Z (no zone: UTC).")
@ref_option
def audit(environment: str, spec_path: Path, at: str, ref: str | None) -> None:
    """Which image and model ENV ran at TIME, and which commit put it there."""
    from mlops.compiler.history import live_at

    moment = _moment(at)
    _, promotions = _promotions(_load(spec_path), environment, ref)
    live = live_at(promotions, moment)
    if live is None:
        first = (f"; the first promotion was at {_when(promotions[0].at)}" if promotions
                 else "; it was never promoted")
        raise MlopsError(f"{environment} ran nothing mlops promoted at {_when(moment)}{first}")
    after = promotions[promotions.index(live) + 1:]
    click.echo(f"{environment} at {_when(moment)}: image {live.image}")
    if live.release:
        click.echo(f"  model version {live.release.model_version}, digest "
                   f"{live.release.model_digest}, built from commit {live.release.revision}")
    else:
        click.echo("  not a recorded release: the release workflow did not record its model")
    click.echo(f"  promoted {_when(live.at)} by {live.author} in commit {live.commit} "
               f"({live.subject})")
    click.echo(f"  until {_when(after[0].at)} (commit {after[0].commit[:12]})" if after
               else "  still live")


@click.command()
@environment_argument
@spec_argument
@click.option("--to", "to", default=None, metavar="DIGEST",
              help="The image digest to return to (default: the one ENV ran before); 12 or more "
                   "hex digits are enough.")
@click.option("--push", is_flag=True,
              help="Push the commit (deploy.promotion: pull_request: the rollback branch) to "
                   "origin.")
def rollback(environment: str, spec_path: Path, to: str | None, push: bool) -> None:
    """Promote ENV back to an earlier released image, with one commit (or pull request branch)."""
    from mlops.compiler.rollback import rollback as roll_back

    loaded = _load(spec_path)
    done = roll_back(loaded, environment, to, push)
    click.echo(f"rolled back {done.environment} to {done.image} (was {done.previous}) in commit "
               f"{done.commit[:12]} on {done.branch}")
    if not done.pushed:
        click.echo(f"push it to deploy: git push origin {done.branch}" + (
            f", then open its pull request to {loaded.spec.deploy.branch}" if done.pull_request
            else ""))
    elif done.pull_request:
        click.echo(f"pushed {done.branch}: open its pull request to {loaded.spec.deploy.branch}, "
                   f"e.g. gh pr create --base {loaded.spec.deploy.branch} --head {done.branch} "
                   "--fill")
    else:
        click.echo(f"pushed to {done.branch}: {loaded.spec.deploy.gitops} applies it")


def _promotions(loaded: LoadedSpec, environment: str,
                ref: str | None) -> tuple[PurePosixPath, list[Promotion]]:
    """The lock's path and `environment`'s promotions on `ref` (default: the deploy branch)."""
    from mlops.compiler.compile import lock_location
    from mlops.compiler.history import deploy_ref, history, require_environment
    from mlops.compiler.lock import read_lock

    require_environment(loaded, environment)
    root, lock_path = lock_location(loaded)
    lock = read_lock(root / lock_path, str(lock_path))
    ref = ref or deploy_ref(root, loaded.spec.deploy.branch)
    return lock_path, history(root, ref, lock_path, environment,
                              dict(lock.released) if lock else {})
