"""Who starts whom: every generated step that pushes, opens a pull request or dispatches a
workflow, the token it does it with, and whether the workflow meant to react can start on the
event that token causes, by GitHub's rules as its documentation states them (RULES, quoted).

The steps are read from the compiled workflows themselves (their `run:` scripts and `env:`), for
every case, a monorepo, and each case again with a GitHub App (`ci.app`), so a template change
that opens a pull request nobody gates fails here.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from mlops.compiler.compile import prepare, write
from mlops.compiler.targets.github_actions import ACTIONS
from tests.compiler.compiler_helpers import CASES, ROOT, copy_case
from tests.specs import edit_spec

TRIGGERING = ("https://docs.github.com/en/actions/how-tos/write-workflows/"
              "choose-when-workflows-run/trigger-a-workflow")
MANUAL_RUN = ("https://docs.github.com/en/actions/how-tos/manage-workflow-runs/"
              "manually-run-a-workflow")
STATUS_CHECKS = "https://docs.github.com/en/pull-requests/reference/status-checks"
REQUIRED_CHECKS = ("https://docs.github.com/en/pull-requests/collaborating-with-pull-requests/"
                   "collaborating-on-repositories-with-code-quality-features/"
                   "troubleshooting-required-status-checks")
BRANCH_PROTECTION_API = ("https://docs.github.com/en/rest/branches/branch-protection"
                         "#update-branch-protection")
APP_TOKEN = "https://github.com/actions/create-github-app-token#readme"


@dataclass(frozen=True)
class Rule:
    """One of GitHub's rules, in its documentation's words (a short quote) and where."""

    quote: str
    source: str


RULES = {
    "workflow token starts only dispatches": Rule(
        "events triggered by the GITHUB_TOKEN, with the exception of workflow_dispatch and "
        "repository_dispatch, will not create a new workflow run", TRIGGERING),
    "an App token starts workflows": Rule(
        "you can use a GitHub App installation access token or a personal access token instead "
        "of GITHUB_TOKEN to trigger events that require a token", TRIGGERING),
    "a dispatched workflow is on the default branch": Rule(
        "To trigger the `workflow_dispatch` event, your workflow must be in the default branch.",
        MANUAL_RUN),
    "write access sets a status": Rule(
        "Anyone with write permissions to a repository can set the state for any status check "
        "in the repository.", STATUS_CHECKS),
    "a check and a status of one name": Rule(
        "If you have a check and a status with the same name, and you select that name as a "
        "required status check, both the check and the status are required.", REQUIRED_CHECKS),
    "any source may set a required check": Rule(
        "Pass -1 to explicitly allow any app to set the status.", BRANCH_PROTECTION_API),
    "an App token lives an hour": Rule(
        "An installation access token expires after 1 hour.", APP_TOKEN),
    "an App token ends with its job": Rule(
        "the token is revoked in the `post` step of the action, which means it cannot be passed "
        "to another job", APP_TOKEN),
    "an App token has every installation permission": Rule(
        "The token inherits all the installation's permissions.", APP_TOKEN),
}

WORKFLOW_TOKEN = "GITHUB_TOKEN"
APP = "GitHub App"
STARTS: dict[str, Callable[[str], bool]] = {
    # RULES["workflow token starts only dispatches"]
    WORKFLOW_TOKEN: lambda event: event in ("workflow_dispatch", "repository_dispatch"),
    # RULES["an App token starts workflows"]
    APP: lambda event: True,
}
"""Whether an event caused with each token starts the workflow runs it triggers."""

COMMANDS = {"git push": "push", "gh pr create": "pull_request", "gh workflow run": "workflow_dispatch"}
"""The commands in the generated scripts that cause events, and the event each causes."""


@dataclass(frozen=True)
class Effect:
    """A step's push, pull request or dispatch, with the token that does it."""

    workflow: str
    job: str
    step: str
    event: str
    token: str
    branch: str | None
    target: str | None
    """The dispatched workflow's file name."""

    @property
    def row(self) -> tuple[str, str, str, str, str | None]:
        return self.workflow, self.job, self.event, self.token, self.target


def load(path: Path) -> dict[str, Any]:
    data = YAML(typ="safe").load(path.read_text())
    assert isinstance(data, dict)
    return data


def workflows(root: Path) -> dict[str, dict[str, Any]]:
    return {p.name: load(p) for p in sorted((root / ".github" / "workflows").glob("*.yml"))}


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    """`on:` (YAML 1.1 readers may turn the key into True)."""
    on = workflow.get("on", workflow.get(True))
    assert isinstance(on, dict)
    return on


def token_of(step: dict[str, Any], job: dict[str, Any], where: str) -> str:
    """Which token a step's `gh` (and, after `gh auth setup-git`, `git push`) uses: GH_TOKEN."""
    value = (step.get("env") or {}).get("GH_TOKEN")
    if value == "${{ github.token }}":
        return WORKFLOW_TOKEN
    match = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.token \}\}", str(value))
    assert match, f"{where}: GH_TOKEN is {value!r}, not a token this test knows"
    minting = next(s for s in job["steps"] if s.get("id") == match[1])
    assert minting["uses"] == f"{ACTIONS['create_github_app_token'].repository}@" \
                              f"{ACTIONS['create_github_app_token'].sha}", where
    assert job["steps"].index(minting) < job["steps"].index(step), where
    return APP


def effects(root: Path) -> Iterator[Effect]:
    """Every push, pull request and dispatch of every workflow under `root`, in order."""
    for name, workflow in workflows(root).items():
        for job_id, job in workflow["jobs"].items():
            for step in job["steps"]:
                script = step.get("run", "")
                where = f"{name}: jobs.{job_id}: {step.get('name')}"
                found = [(script.index(c), c) for c in COMMANDS if c in script]
                for _, command in sorted(found):
                    token = token_of(step, job, where)
                    if command == "git push":
                        assert "gh auth setup-git" in script.split(command)[0], (
                            f"{where}: git push without the step's token")
                    env = step.get("env") or {}
                    target = None
                    if command == "gh workflow run":
                        target = script.split(command)[1].split()[0]
                    yield Effect(name, job_id, str(step.get("name")), COMMANDS[command], token,
                                 env.get("BRANCH", env.get("REF")), target)


def glob_matches(pattern: str, path: str) -> bool:
    """GitHub's `paths:` glob: `**` any characters, `*` any but '/'."""
    regex = "".join(".*" if part == "**" else "[^/]*" if part == "*" else re.escape(part)
                    for part in re.split(r"(\*\*|\*)", pattern))
    return re.fullmatch(regex, path) is not None


def starts_on_paths(on: dict[str, Any], event: str, files: list[str]) -> bool:
    """Whether `event` touching `files` passes the trigger's `paths:` filter."""
    paths = (on.get(event) or {}).get("paths")
    if paths is None:
        return event in on
    for file in files:
        included = False
        for pattern in paths:  # later patterns win, `!` excludes
            if pattern.startswith("!"):
                included = included and not glob_matches(pattern[1:], file)
            elif glob_matches(pattern, file):
                included = True
        if included:
            return True
    return False


def gates_job(pr: dict[str, Any]) -> dict[str, Any]:
    job = pr["jobs"]["gates"]
    assert isinstance(job, dict)
    return job


def status_job(pr: dict[str, Any]) -> dict[str, Any] | None:
    """The job that reports the gates as a commit status, if the PR workflow has one."""
    for job in pr["jobs"].values():
        if job.get("permissions", {}).get("statuses") == "write":
            return dict(job)
    return None


def changed_files(effect: Effect, root: Path, prefix: str) -> list[str]:
    """What the pull request of `effect` changes: the retrained model, or a promotion's pin."""
    spec = load(root / prefix / "mlops.yaml") if (root / prefix / "mlops.yaml").exists() else {}
    output = spec.get("compile", {}).get("output", "generated")
    if effect.workflow.endswith("-retrain.yml"):
        return [f"{prefix}{spec['model']['artifact']}"]
    return [f"{prefix}{output}/k8s/overlays/dev/kustomization.yaml", f"{prefix}{output}/.mlops-lock.json"]


# --- the roots: every case, a monorepo, and every case with a GitHub App ---------------------


def with_app(case: str, destination: Path) -> Path:
    """A case compiled with `ci.app` naming the team's two secrets."""
    spec = copy_case(case, destination)
    edit_spec(spec, {"ci.app": {"id_secret": "TEAM_APP_ID", "key_secret": "TEAM_APP_KEY"}})
    write(prepare([spec]))
    return destination


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory,
          compiled: Callable[[str], Path]) -> dict[str, Path]:
    result = {case: compiled(case) for case in sorted(CASES)}
    for case in sorted(CASES):
        result[f"{case} with an App"] = with_app(case, tmp_path_factory.mktemp(f"{case}-app"))
    monorepo = tmp_path_factory.mktemp("monorepo")
    (monorepo / ".git").mkdir()
    shutil.copytree(CASES["canary-argocd"], monorepo / "models" / "churn")
    shutil.copytree(CASES["regression"], monorepo / "models" / "houses")
    write(prepare([monorepo]))
    result["monorepo"] = monorepo
    return result


def model_prefix(root: Path, workflow: str) -> str:
    """The spec folder (with '/') of the model a workflow file belongs to, in `root`."""
    name = workflow.removeprefix("mlops-").rsplit("-", 1)[0]
    for spec in sorted(root.rglob("mlops.yaml")):
        if re.search(rf"^name: {re.escape(name)}$", spec.read_text(), re.MULTILINE):
            folder = spec.parent.relative_to(root).as_posix()
            return "" if folder == "." else f"{folder}/"
    raise AssertionError(f"no spec named {name} under {root}")


# --- the rules, applied to every effect -------------------------------------------------------


def test_the_rules_are_quoted_from_githubs_documentation() -> None:
    for name, rule in RULES.items():
        assert rule.source.startswith(("https://docs.github.com/", "https://github.com/actions/")), name
        assert 20 < len(rule.quote) < 200, name  # a short quote, not a paraphrase of a page


def test_every_dispatch_starts_its_workflow(roots: dict[str, Path]) -> None:
    for label, root in roots.items():
        found = workflows(root)
        for effect in effects(root):
            if effect.event != "workflow_dispatch":
                continue
            assert effect.target in found, f"{label}: {effect}"
            assert "workflow_dispatch" in triggers(found[effect.target]), f"{label}: {effect}"
            assert STARTS[effect.token](effect.event), f"{label}: {effect}"


def test_every_pull_request_gets_the_pr_workflows_gates(roots: dict[str, Path]) -> None:
    """Either GitHub starts the PR workflow on the pull request (an App token's event, on the
    files it changes), or the same job then dispatches the PR workflow on its branch, which
    reports its gates as a commit status named as the gates job: the required check."""
    for label, root in roots.items():
        found = workflows(root)
        every = list(effects(root))
        for effect in (e for e in every if e.event == "pull_request"):
            pr_name = effect.workflow.rsplit("-", 1)[0] + "-pr.yml"
            pr = found[pr_name]
            on = triggers(pr)
            files = changed_files(effect, root, model_prefix(root, effect.workflow))
            if STARTS[effect.token]("pull_request"):
                assert starts_on_paths(on, "pull_request", files), f"{label}: {effect} {files}"
                continue
            later = every[every.index(effect) + 1:]
            dispatch = next((e for e in later if (e.workflow, e.job) == (effect.workflow, effect.job)
                             and e.event == "workflow_dispatch"), None)
            assert dispatch is not None, f"{label}: {effect}: nothing starts the PR workflow"
            assert (dispatch.target, dispatch.branch) == (pr_name, effect.branch), f"{label}"
            assert STARTS[dispatch.token]("workflow_dispatch"), f"{label}: {dispatch}"
            status = status_job(pr)
            assert status is not None, f"{label}: {pr_name} reports no commit status"
            assert status["steps"][-1]["env"]["CONTEXT"] == gates_job(pr)["name"], label
            assert "workflow_dispatch" in status["if"], label


def test_pushes_need_no_workflow_to_react_but_the_pull_requests_they_open(
        roots: dict[str, Path]) -> None:
    """A push either carries a pull request's branch (the pull request then starts the gates,
    above) or pins an overlay on deploy.branch, which the release workflow deliberately ignores
    and no other workflow watches: the workflow token suffices there."""
    for label, root in roots.items():
        found = workflows(root)
        every = list(effects(root))
        for effect in (e for e in every if e.event == "push"):
            same_step = [e for e in every if (e.workflow, e.job, e.step) ==
                         (effect.workflow, effect.job, effect.step)]
            if any(e.event == "pull_request" for e in same_step):
                continue
            assert effect.workflow.endswith("-release.yml"), f"{label}: {effect}"
            files = changed_files(effect, root, model_prefix(root, effect.workflow))
            for name, workflow in found.items():
                assert not starts_on_paths(triggers(workflow), "push", files), (
                    f"{label}: {name} would run on the promotion push {effect}")


def test_the_token_table_of_a_team_without_an_app(roots: dict[str, Path]) -> None:
    """canary-argocd: monitor -> retrain, promotion pull requests per environment, retraining."""
    every = list(effects(roots["canary-argocd"]))
    assert every[0].branch == "release"  # retraining runs on deploy.branch, its PR's base
    rows = [e.row for e in every]
    promotions = [row for env in ("dev", "staging", "prod") for row in (
        ("mlops-churn-release.yml", f"promote-{env}", "push", WORKFLOW_TOKEN, None),
        ("mlops-churn-release.yml", f"promote-{env}", "pull_request", WORKFLOW_TOKEN, None),
        ("mlops-churn-release.yml", f"promote-{env}", "workflow_dispatch", WORKFLOW_TOKEN,
         "mlops-churn-pr.yml"))]
    assert rows == [
        ("mlops-churn-monitor.yml", "retrain", "workflow_dispatch", WORKFLOW_TOKEN,
         "mlops-churn-retrain.yml"),
        *promotions,
        ("mlops-churn-retrain.yml", "pull-request", "push", WORKFLOW_TOKEN, None),
        ("mlops-churn-retrain.yml", "pull-request", "pull_request", WORKFLOW_TOKEN, None),
        ("mlops-churn-retrain.yml", "pull-request", "workflow_dispatch", WORKFLOW_TOKEN,
         "mlops-churn-pr.yml"),
    ]


def test_the_token_table_of_a_team_with_an_app(roots: dict[str, Path]) -> None:
    """The App opens every pull request; only the monitor's dispatch keeps the workflow token
    (which may dispatch), and nothing dispatches the PR workflow."""
    rows = [e.row for e in effects(roots["canary-argocd with an App"])]
    promotions = [row for env in ("dev", "staging", "prod") for row in (
        ("mlops-churn-release.yml", f"promote-{env}", "push", APP, None),
        ("mlops-churn-release.yml", f"promote-{env}", "pull_request", APP, None))]
    assert rows == [
        ("mlops-churn-monitor.yml", "retrain", "workflow_dispatch", WORKFLOW_TOKEN,
         "mlops-churn-retrain.yml"),
        *promotions,
        ("mlops-churn-retrain.yml", "pull-request", "push", APP, None),
        ("mlops-churn-retrain.yml", "pull-request", "pull_request", APP, None),
    ]
    pr = workflows(roots["canary-argocd with an App"])["mlops-churn-pr.yml"]
    assert "workflow_dispatch" not in triggers(pr) and status_job(pr) is None


# --- the tokens themselves: scoped, minted where used, never left with write access -----------


def test_the_app_token_is_scoped_and_minted_in_the_job_that_uses_it(
        roots: dict[str, Path]) -> None:
    """RULES["an App token has every installation permission"]: so it asks for contents and
    pull requests only; RULES["an App token ends with its job"]: so each job mints its own."""
    root = roots["canary-argocd with an App"]
    minted = 0
    for name, workflow in workflows(root).items():
        for job_id, job in workflow["jobs"].items():
            for step in job["steps"]:
                if not str(step.get("uses", "")).startswith("actions/create-github-app-token@"):
                    continue
                minted += 1
                assert step["with"] == {
                    "app-id": "${{ secrets.TEAM_APP_ID }}",
                    "private-key": "${{ secrets.TEAM_APP_KEY }}",
                    "permission-contents": "write", "permission-pull-requests": "write",
                }, f"{name}: {job_id}"
                assert not any(v == "write" for v in job["permissions"].values()), (
                    f"{name}: {job_id}: the job's own token needs no write access")
    assert minted == 4  # three promotions and the retrain pull request


def test_the_wait_for_a_merge_uses_the_workflow_token(roots: dict[str, Path]) -> None:
    """RULES["an App token lives an hour"]; the wait lasts up to six."""
    release = workflows(roots["canary-argocd with an App"])["mlops-churn-release.yml"]
    job = release["jobs"]["promote-dev"]
    wait = next(s for s in job["steps"] if s["name"] == "Wait for the pull request to be merged")
    assert wait["env"]["GH_TOKEN"] == "${{ github.token }}"
    assert job["permissions"] == {"contents": "read", "pull-requests": "read"}
    assert job["timeout-minutes"] == 360


def test_the_dispatched_pr_workflow_reports_the_required_check(roots: dict[str, Path]) -> None:
    """RULES["write access sets a status"]: the dispatched run sets the status named as the
    gates job; RULES["a check and a status of one name"]: both pass or fail together, since the
    status is the gates job's own result."""
    pr = workflows(roots["breast-cancer"])["mlops-breast-cancer-pr.yml"]
    assert gates_job(pr)["name"] == "mlops breast-cancer: gates"
    assert triggers(pr)["workflow_dispatch"]["inputs"]["pull_request"] == {
        "description": "Pull request to report to: the run gates the branch it is dispatched on",
        "required": True, "type": "number"}
    status = status_job(pr)
    assert status is not None
    assert status["permissions"] == {"statuses": "write"}
    assert status["needs"] == "gates"
    assert status["if"] == "${{ always() && github.event_name == 'workflow_dispatch' }}"
    step = status["steps"][-1]
    assert step["env"]["SHA"] == "${{ github.sha }}"
    assert step["env"]["RESULT"] == "${{ needs.gates.result }}"
    assert 'statuses/$SHA' in step["run"] and '--raw-field context="$CONTEXT"' in step["run"]
    comment = pr["jobs"]["comment"]
    assert comment["steps"][-1]["env"]["PULL_REQUEST"] == (
        "${{ github.event.pull_request.number || inputs.pull_request }}")


def test_retraining_runs_the_teams_code_with_a_read_only_token(roots: dict[str, Path]) -> None:
    for label in ("breast-cancer", "canary-argocd with an App"):
        retrain = next(w for n, w in workflows(roots[label]).items() if n.endswith("-retrain.yml"))
        assert retrain["jobs"]["retrain"]["permissions"] == {"contents": "read"}, label
        pull_request = retrain["jobs"]["pull-request"]
        assert pull_request["needs"] == "retrain"
        # no always()/failure(): the job runs only when training and every gate passed
        assert pull_request["if"] == "needs.retrain.outputs.changed == 'true'"


def test_the_readme_lists_every_generated_workflow() -> None:
    """The README's CI table names each kind of workflow the compiler writes."""
    readme = (ROOT / "README.md").read_text()
    table = readme.split("| workflow | started by |")[1].split("\n\n")[0]
    for kind in ("pr", "release", "monitor", "retrain"):
        assert f"`mlops-<model>-{kind}.yml`" in table, kind
