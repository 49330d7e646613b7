"""`mlops history`, `mlops audit` and `mlops rollback` on a real git repository with several
promotions, as the release workflow makes them (`mlops compile --promote ... --model-digest`),
one of them by hand (no release recorded)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.test_compile_cli import SPECS, mlops
from tests.projects import GIT_IDENTITY, files_of, git, make_repository
from tests.specs import REMOVE, edit_spec

IMAGE = {name: "sha256:" + digit * 64 for name, digit in (("a", "a"), ("b", "b"), ("c", "c"))}
MODEL = {name: "sha256:" + digit * 64 for name, digit in (("a", "1"), ("b", "2"))}
LOCK = "generated/.mlops-lock.json"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
         capsys: pytest.CaptureFixture[str]) -> Iterator[Path]:
    """The canary spec (promotions pushed to main) in a repository of its own, compiled and committed
    on 2026-11-01."""
    for key, value in {**GIT_IDENTITY, "GIT_CONFIG_GLOBAL": "/dev/null"}.items():
        monkeypatch.setenv(key, value)
    folder = make_repository(tmp_path / "team", files_of(SPECS / "canary-argocd"))
    monkeypatch.chdir(folder)
    edit_spec(folder / "mlops.yaml", {"deploy.branch": "main", "deploy.promotion": "push",
                                      "serving.verify": REMOVE})
    git(folder, "config", "commit.gpgsign", "false")
    assert mlops(capsys, "compile")[0] == 0
    _commit(folder, monkeypatch, "2026-11-01T09:00:00Z", "compile")
    yield folder


def _commit(folder: Path, monkeypatch: pytest.MonkeyPatch, at: str, message: str) -> str:
    monkeypatch.setenv("GIT_COMMITTER_DATE", at)
    monkeypatch.setenv("GIT_AUTHOR_DATE", at)
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", message)
    monkeypatch.delenv("GIT_COMMITTER_DATE")
    monkeypatch.delenv("GIT_AUTHOR_DATE")
    return git(folder, "rev-parse", "HEAD").strip()


def _promote(folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
             env: str, image: str, at: str, model: str | None = None) -> str:
    release = ["--model-digest", MODEL[model], "--revision", "f" * 40] if model else []
    code, _, err = mlops(capsys, "compile", "--promote", f"{env}={IMAGE[image]}", *release)
    assert code == 0, err
    return _commit(folder, monkeypatch, at, f"deploy(churn): promote {IMAGE[image]} to {env}")


@pytest.fixture
def promoted(repo: Path, monkeypatch: pytest.MonkeyPatch,
             capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """prod: a (Nov 2), b (Nov 5), then c by hand (Nov 9); staging: a, b. The commits by name."""
    return {
        "a-staging": _promote(repo, monkeypatch, capsys, "staging", "a", "2026-11-02T08:00:00Z", "a"),
        "a": _promote(repo, monkeypatch, capsys, "prod", "a", "2026-11-02T10:00:00Z", "a"),
        "b-staging": _promote(repo, monkeypatch, capsys, "staging", "b", "2026-11-05T08:00:00Z", "b"),
        "b": _promote(repo, monkeypatch, capsys, "prod", "b", "2026-11-05T10:00:00Z", "b"),
        "c": _promote(repo, monkeypatch, capsys, "prod", "c", "2026-11-09T10:00:00Z"),
    }


def test_history_lists_each_promotion_newest_first(
        promoted: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = mlops(capsys, "history", "prod")
    assert code == 0
    assert out.splitlines() == [
        f"prod: 3 promotion(s), newest first, from the git history of {LOCK}",
        f"  2026-11-09 10:00:00Z  {IMAGE['c'][:19]}  not a recorded release  commit "
        f"{promoted['c'][:12]}  by Outside Team <team@example.com>  <- live",
        f"  2026-11-05 10:00:00Z  {IMAGE['b'][:19]}  model 222222222222 built from ffffffffffff  "
        f"commit {promoted['b'][:12]}  by Outside Team <team@example.com>",
        f"  2026-11-02 10:00:00Z  {IMAGE['a'][:19]}  model 111111111111 built from ffffffffffff  "
        f"commit {promoted['a'][:12]}  by Outside Team <team@example.com>",
    ]


def test_history_as_json_and_an_environment_never_promoted(
        promoted: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    import json

    code, out, _ = mlops(capsys, "history", "staging", "--json")
    assert code == 0
    entries = json.loads(out)
    assert [(e["image"], e["commit"], e["release"]["model_digest"]) for e in entries] == [
        (IMAGE["b"], promoted["b-staging"], MODEL["b"]),
        (IMAGE["a"], promoted["a-staging"], MODEL["a"])]
    assert entries[0]["at"] == "2026-11-05T08:00:00+00:00"
    assert mlops(capsys, "history", "dev")[1] == (
        f"dev: nothing promoted yet ({LOCK} has no image for it in the git history)\n")


def test_audit_answers_what_was_live_at_a_moment(
        promoted: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = mlops(capsys, "audit", "prod", "--at", "2026-11-06T12:00:00+01:00")
    assert code == 0
    assert out.splitlines() == [
        f"prod at 2026-11-06 11:00:00Z: image {IMAGE['b']}",
        f"  model version 222222222222, digest {MODEL['b']}, built from commit {'f' * 40}",
        f"  promoted 2026-11-05 10:00:00Z by Outside Team <team@example.com> in commit "
        f"{promoted['b']} (deploy(churn): promote {IMAGE['b']} to prod)",
        f"  until 2026-11-09 10:00:00Z (commit {promoted['c'][:12]})",
    ]
    assert mlops(capsys, "audit", "prod", "--at", "2026-11-02T10:00:00")[1].splitlines()[0] == (
        f"prod at 2026-11-02 10:00:00Z: image {IMAGE['a']}")
    assert mlops(capsys, "audit", "prod", "--at", "2026-12-01")[1].splitlines()[-1] == (
        "  still live")


def test_audit_before_the_first_promotion_and_a_bad_time_are_errors(
        promoted: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = mlops(capsys, "audit", "prod", "--at", "2026-11-01T00:00:00Z")
    assert code == 1
    assert err.strip() == ("prod ran nothing mlops promoted at 2026-11-01 00:00:00Z; the "
                           "first promotion was at 2026-11-02 10:00:00Z")
    code, _, err = mlops(capsys, "audit", "prod", "--at", "yesterday")
    assert code == 2
    assert "--at yesterday: expected an ISO 8601 time such as 2026-11-30T14:05:00Z" in err


def test_rollback_returns_to_the_last_release_before_a_hand_promotion_is_refused(
        repo: Path, promoted: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = mlops(capsys, "rollback", "prod", "--to", IMAGE["c"][7:19])
    assert code == 1
    assert err.strip() == (
        f"{IMAGE['c']} never passed the release gates: the release workflow recorded no "
        f"such image in {LOCK}, so it cannot be rolled back to; released images:\n"
        f"  {IMAGE['a']} (model 111111111111, commit ffffffffffff)\n"
        f"  {IMAGE['b']} (model 222222222222, commit ffffffffffff)")
    head = git(repo, "rev-parse", "HEAD")
    code, out, err = mlops(capsys, "rollback", "prod", "--to", IMAGE["a"][:20])
    assert code == 0, err
    commit = git(repo, "rev-parse", "HEAD").strip()
    assert commit != head.strip()
    assert out.splitlines() == [
        f"rolled back prod to {IMAGE['a']} (was {IMAGE['c']}) in commit {commit[:12]} on main",
        "push it to deploy: git push origin main"]
    assert git(repo, "log", "-1", "--format=%s") == (
        f"deploy(churn): roll back prod to {IMAGE['a']} (was {IMAGE['c']})\n")
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == [
        LOCK, "generated/k8s/overlays/prod/kustomization.yaml"]
    assert f"digest: {IMAGE['a']}" in (
        repo / "generated/k8s/overlays/prod/kustomization.yaml").read_text()
    assert mlops(capsys, "compile", "--check")[0] == 0
    assert mlops(capsys, "history", "prod")[1].splitlines()[1].endswith("<- live")
    assert IMAGE["a"][:19] in mlops(capsys, "history", "prod")[1].splitlines()[1]


def test_rollback_defaults_to_the_previous_image_and_refuses_unsafe_states(
        repo: Path, promoted: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = mlops(capsys, "rollback", "staging")
    assert code == 0, err
    assert out.startswith(f"rolled back staging to {IMAGE['a']} (was {IMAGE['b']})")
    assert git(repo, "log", "-1", "--format=%s").startswith(
        f"deploy(churn): roll back staging to {IMAGE['a']}")
    code, _, err = mlops(capsys, "rollback", "staging", "--to", IMAGE["a"])
    assert (code, err.strip()) == (1, f"staging already runs {IMAGE['a']}: nothing to "
                                      "roll back")
    code, _, err = mlops(capsys, "rollback", "dev")
    assert (code, err.strip()) == (1, f"dev was never promoted ({LOCK} records no image "
                                      "for it): nothing to roll back")
    overlay = repo / "generated/k8s/overlays/prod/kustomization.yaml"
    overlay.write_text(overlay.read_text() + "# hand edit\n")
    before = git(repo, "rev-parse", "HEAD")
    code, _, err = mlops(capsys, "rollback", "prod", "--to", IMAGE["b"])
    assert (code, err.strip()) == (1, "uncommitted changes in generated or "
                                      ".github/workflows: commit or discard them first (a "
                                      "rollback commits only its own change)")
    assert overlay.read_text().endswith("# hand edit\n")
    assert git(repo, "rev-parse", "HEAD") == before
    git(repo, "checkout", "-q", "--", "generated")
    git(repo, "switch", "-q", "-c", "feature")
    git(repo, "commit", "-q", "--allow-empty", "-m", "work in progress")
    assert "<- live" in mlops(capsys, "history", "staging")[1]  # main's history, not HEAD's
    code, _, err = mlops(capsys, "rollback", "prod", "--to", IMAGE["b"])
    assert (code, err.strip()) == (1, "the checkout is on 'feature': roll back from "
                                      "'main' (the branch argocd deploys from); `git switch "
                                      "main` first")


def test_rollback_through_a_pull_request_pushes_its_own_branch(
        repo: Path, promoted: dict[str, str], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    edit_spec(repo / "mlops.yaml", {"deploy.promotion": "pull_request"})
    assert mlops(capsys, "compile")[0] == 0
    _commit(repo, monkeypatch, "2026-11-10T09:00:00Z", "promotions through pull requests")
    code, out, err = mlops(capsys, "rollback", "prod", "--push")
    assert code == 0, err
    branch = "mlops/rollback-churn-prod"
    assert out.splitlines()[1] == (
        f"pushed {branch}: open its pull request to main, e.g. gh pr create --base main "
        f"--head {branch} --fill")
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == branch
    origin = repo.with_name("team.origin.git")
    assert git(origin, "rev-parse", branch) == git(repo, "rev-parse", "HEAD")
    assert f"to {IMAGE['b']} (was {IMAGE['c']})" in git(origin, "log", "-1", "--format=%s", branch)


@pytest.mark.parametrize("command", [("history", "qa"), ("audit", "qa", "--at", "2026-11-05"),
                                     ("rollback", "qa")])
def test_an_unknown_environment_is_a_usage_error(
        repo: Path, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]) -> None:
    code, _, err = mlops(capsys, *command)
    assert (code, err.strip()) == (2, "no environment 'qa' in mlops.yaml (environments: dev, "
                                      "staging, prod)")



def test_a_commit_that_deleted_the_lock_or_broke_it_promoted_nothing(
        repo: Path, promoted: dict[str, str], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / LOCK).unlink()
    _commit(repo, monkeypatch, "2026-11-10T09:00:00Z", "lock deleted")
    (repo / LOCK).write_text("{not json")
    _commit(repo, monkeypatch, "2026-11-11T09:00:00Z", "lock broken")
    git(repo, "checkout", promoted["c"], "--", LOCK)  # restored: c again, no new promotion
    _commit(repo, monkeypatch, "2026-11-12T09:00:00Z", "lock restored")
    code, out, _ = mlops(capsys, "history", "prod")
    assert code == 0
    assert [line.split()[2] for line in out.splitlines()[1:]] == [
        IMAGE[name][:19] for name in ("c", "b", "a")]
