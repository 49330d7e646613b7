"""`mlops compile` end to end on scratch repositories: write, --check, --dry-run, hand edits,
stale files, orphans, overrides, monorepos, promotions, and the exact messages a user sees."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlops.cli.main import main
from tests.specs import REMOVE, edit_spec

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "tests" / "fixtures" / "specs"
HEAVY = ("torch", "onnxruntime", "sklearn", "locust", "numpy", "pandas", "pyarrow", "gevent")
DIGEST = "sha256:" + "0123456789abcdef" * 4
CHECK_HINT = ("run `mlops compile mlops.yaml` (generated files are never edited by hand: change "
              "the spec or a template override instead)")


def mlops(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the real CLI in-process; returns (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch repository holding the canary + Argo CD case, as the current folder."""
    shutil.copytree(SPECS / "canary-argocd", tmp_path, dirs_exist_ok=True)
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def compiled_repo(repo: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert mlops(capsys, "compile")[0] == 0
    return repo


def test_compile_then_check_passes(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = mlops(capsys, "compile", "mlops.yaml")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("compiled mlops.yaml: ") and lines[0].endswith(" create")
    assert "  create    .github/workflows/mlops-churn-pr.yml" in lines
    assert "  create    generated/.mlops-lock.json" in lines
    count = len(json.loads((repo / "generated/.mlops-lock.json").read_text())["files"])
    assert mlops(capsys, "compile", "--check") == (
        0, f"mlops.yaml: {count} generated files up to date\n", "")
    assert mlops(capsys, "compile")[1] == f"compiled mlops.yaml: {count + 1} identical\n"


def test_compile_is_byte_stable_wherever_it_runs(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    trees = []
    for name in ("one", "elsewhere/two"):
        shutil.copytree(SPECS / "regression", tmp_path / name)
        assert mlops(capsys, "compile", str(tmp_path / name / "mlops.yaml"))[0] == 0
        trees.append(files(tmp_path / name))
    assert trees[0] == trees[1]


def test_hand_edit_is_reported_with_a_diff(compiled_repo: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    conf = compiled_repo / "generated/load/locust.conf"
    conf.write_text(conf.read_text().replace("users = 20", "users = 200"))
    code, out, err = mlops(capsys, "compile", "--check")
    assert code == 1
    assert out == (
        "edited by hand: generated/load/locust.conf\n"
        "--- generated/load/locust.conf (on disk)\n"
        "+++ generated/load/locust.conf (compiled from mlops.yaml)\n"
        "@@ -4,6 +4,6 @@\n"
        " #     locust -f locustfile.py --config locust.conf\n"
        " headless = true\n"
        " host = http://127.0.0.1:8080\n"
        "-users = 200\n"
        "+users = 20\n"
        " spawn-rate = 10\n"
        " run-time = 20s\n"
    )
    assert err == f"mlops compile --check: 1 file(s) out of date; {CHECK_HINT}\n"
    assert mlops(capsys, "compile", "--check", "--no-diff")[1] == (
        "edited by hand: generated/load/locust.conf\n")


def test_compile_overwrites_hand_edits_and_says_so(compiled_repo: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    conf = compiled_repo / "generated/load/locust.conf"
    original = conf.read_text()
    conf.write_text("edited\n")
    code, out, _ = mlops(capsys, "compile")
    assert code == 0
    assert "  edited    generated/load/locust.conf (hand edits overwritten)\n" in out
    assert conf.read_text() == original


def test_spec_change_makes_files_stale(compiled_repo: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    edit_spec(compiled_repo / "mlops.yaml", {"load.users": 30})
    code, out, err = mlops(capsys, "compile", "--check", "--no-diff")
    assert code == 1
    assert out == "stale: generated/load/locust.conf\nstale: generated/.mlops-lock.json\n"
    assert err == f"mlops compile --check: 2 file(s) out of date; {CHECK_HINT}\n"
    assert mlops(capsys, "compile")[0] == 0
    assert "users = 30\n" in (compiled_repo / "generated/load/locust.conf").read_text()
    assert mlops(capsys, "compile", "--check")[0] == 0


def test_missing_file_is_reported(compiled_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (compiled_repo / ".github/workflows/mlops-churn-monitor.yml").unlink()
    assert mlops(capsys, "compile", "--check")[:2] == (
        1, "missing: .github/workflows/mlops-churn-monitor.yml\n")


def test_files_no_longer_produced_are_orphans_and_removed(
        compiled_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = set(files(compiled_repo))
    edit_spec(compiled_repo / "mlops.yaml", {"deploy.environments.0": REMOVE, "model.train": REMOVE,
                                             "monitors.on_alert": ["open_issue"]})
    code, out, _ = mlops(capsys, "compile", "--check", "--no-diff")
    assert code == 1
    assert "orphaned: .github/workflows/mlops-churn-retrain.yml\n" in out
    orphans = {line.removeprefix("orphaned: ") for line in out.splitlines()
               if line.startswith("orphaned: ")}
    assert mlops(capsys, "compile")[0] == 0
    after = set(files(compiled_repo))
    assert orphans and orphans == before - after
    assert all("dev" in path or "retrain" in path for path in orphans)
    assert not (compiled_repo / "generated/k8s/overlays/dev").exists()
    assert mlops(capsys, "compile", "--check")[0] == 0


def test_files_not_in_the_lock_are_never_touched(repo: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    mine = repo / ".github/workflows/mlops-churn-pr.yml"
    mine.parent.mkdir(parents=True)
    mine.write_text("name: my own workflow\n")
    (repo / "generated").mkdir()
    (repo / "generated/notes.txt").write_text("mine\n")
    before = files(repo)
    code, out, err = mlops(capsys, "compile")
    assert (code, out) == (1, "")
    assert err == (
        ".github/workflows/mlops-churn-pr.yml: exists and was not generated by `mlops compile` "
        "(it is not in generated/.mlops-lock.json); move it away or delete it, then compile "
        "again\nnothing was written\n")
    assert files(repo) == before
    mine.unlink()
    assert mlops(capsys, "compile")[0] == 0
    assert (repo / "generated/notes.txt").read_text() == "mine\n"


def test_render_error_writes_nothing(compiled_repo: Path, tmp_path_factory: pytest.TempPathFactory,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    edit_spec(compiled_repo / "mlops.yaml", {"load.users": 30})
    overrides = tmp_path_factory.mktemp("overrides")
    (overrides / "github_actions").mkdir()
    template = overrides / "github_actions" / "pr.yml.j2"
    template.write_text("name: x\non: {{ no_such_variable }}\n")
    before = files(compiled_repo)
    code, out, err = mlops(capsys, "compile", "--templates", str(overrides))
    assert (code, out) == (1, "")
    assert err == (f"mlops.yaml: target github_actions: {template}:2: 'no_such_variable' is "
                   "undefined; nothing was written\n")
    assert files(compiled_repo) == before


def test_template_syntax_error_is_located(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "templates" / "load").mkdir(parents=True)
    (repo / "templates" / "load" / "locust.conf.j2").write_text("users = {{ conf.users }\n")
    edit_spec(repo / "mlops.yaml", {"compile.templates": "templates"})
    code, _, err = mlops(capsys, "compile")
    assert code == 1
    assert err.startswith(f"mlops.yaml: target load: {repo / 'templates/load/locust.conf.j2'}:1: ")
    assert not (repo / "generated").exists()


def test_team_override_from_the_spec(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "templates" / "load").mkdir(parents=True)
    (repo / "templates" / "load" / "locust.conf.j2").write_text(
        "users = {{ conf.users }}\nstop-timeout = 10\n")
    edit_spec(repo / "mlops.yaml", {"compile.templates": "templates"})
    assert mlops(capsys, "compile")[0] == 0
    conf = (repo / "generated/load/locust.conf").read_text()
    assert conf.splitlines()[0].startswith("# Generated by `mlops compile` from mlops.yaml.")
    assert conf.endswith("users = 20\nstop-timeout = 10\n")
    pr = (repo / ".github/workflows/mlops-churn-pr.yml").read_text()
    assert '      - "templates/**"\n' in pr


def test_missing_override_folders(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert mlops(capsys, "compile", "--templates", "nowhere") == (
        2, "", "--templates nowhere: not a folder\n")
    edit_spec(repo / "mlops.yaml", {"compile.templates": "team-templates"})
    code, _, err = mlops(capsys, "compile")
    assert code == 1
    assert err.startswith("mlops.yaml:") and err.endswith(
        ": compile.templates: templates folder not found: team-templates\n")


def test_dry_run_prints_the_plan_and_writes_nothing(
        compiled_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit_spec(compiled_repo / "mlops.yaml", {"load.users": 30})
    before = files(compiled_repo)
    code, out, _ = mlops(capsys, "compile", "--dry-run")
    assert code == 0
    assert out.startswith("would compile mlops.yaml: ")
    assert "  update    generated/load/locust.conf\n" in out
    assert "-users = 20\n+users = 30\n" in out
    assert files(compiled_repo) == before


def test_monorepo_compiles_every_spec_below_a_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".git").mkdir()
    for case, folder in (("flux-minimal", "models/iris"), ("digits-torch", "models/digits")):
        shutil.copytree(SPECS / case, tmp_path / folder)
    (tmp_path / ".venv" / "x").mkdir(parents=True)
    shutil.copy(SPECS / "flux-minimal" / "mlops.yaml", tmp_path / ".venv" / "x" / "mlops.yaml")
    monkeypatch.chdir(tmp_path / "models")
    code, out, _ = mlops(capsys, "compile", ".")
    assert code == 0
    assert [line.split(":")[0] for line in out.splitlines() if not line.startswith(" ")] == [
        "compiled models/digits/mlops.yaml", "compiled models/iris/mlops.yaml"]
    assert (tmp_path / "models/iris/generated/.mlops-lock.json").is_file()
    assert (tmp_path / ".github/workflows/mlops-digits-torch-pr.yml").is_file()
    assert not (tmp_path / ".venv/x/generated").exists()
    assert mlops(capsys, "compile", "--check", "iris", "digits/mlops.yaml")[0] == 0


def test_two_models_with_one_name_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".git").mkdir()
    for folder in ("a", "b"):
        shutil.copytree(SPECS / "flux-minimal", tmp_path / folder)
    monkeypatch.chdir(tmp_path)
    code, out, err = mlops(capsys, "compile", ".")
    assert (code, out) == (2, "")
    assert err == ("a/mlops.yaml and b/mlops.yaml both generate "
                   ".github/workflows/mlops-iris-setosa-pr.yml; model names and output "
                   "folders must be unique within a repository\n")
    assert not (tmp_path / ".github").exists()


def test_spec_errors_of_every_spec_are_reported_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for folder in ("a", "b"):
        shutil.copytree(SPECS / "flux-minimal", tmp_path / folder)
    edit_spec(tmp_path / "a/mlops.yaml", {"version": 2})
    edit_spec(tmp_path / "b/mlops.yaml", {"deploy.gitops": "fluxcd"})
    monkeypatch.chdir(tmp_path)
    code, out, err = mlops(capsys, "compile", "a", "b")
    assert (code, out) == (1, "")
    assert [line.split(":")[0] for line in err.splitlines()] == ["a/mlops.yaml", "b/mlops.yaml"]
    assert not list(tmp_path.rglob("generated"))


def test_usage_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert mlops(capsys, "compile", ".") == (2, "", ".: no mlops.yaml found in this folder or below\n")
    assert mlops(capsys, "compile", "--check", "--dry-run") == (
        2, "", "--check and --dry-run cannot be combined\n")
    code, _, err = mlops(capsys, "compile")
    assert (code, err) == (1, "mlops.yaml:1:1: file not found\n")


def test_promote_pins_an_environment_and_check_stays_green(
        compiled_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = mlops(capsys, "compile", "--promote", f"staging={DIGEST}")
    assert code == 0
    assert "  update    generated/k8s/overlays/staging/kustomization.yaml\n" in out
    overlay = (compiled_repo / "generated/k8s/overlays/staging/kustomization.yaml").read_text()
    assert f"    digest: {DIGEST}\n" in overlay
    lock = json.loads((compiled_repo / "generated/.mlops-lock.json").read_text())
    assert lock["promoted"] == {"staging": DIGEST}
    assert mlops(capsys, "compile", "--check")[0] == 0
    assert mlops(capsys, "compile", "--promote", f"prod={DIGEST}")[0] == 0
    lock = json.loads((compiled_repo / "generated/.mlops-lock.json").read_text())
    assert lock["promoted"] == {"prod": DIGEST, "staging": DIGEST}


def test_promote_rejects_unknown_environments_and_bad_digests(
        compiled_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert mlops(capsys, "compile", "--promote", f"qa={DIGEST}") == (
        2, "", f"--promote qa={DIGEST}: no environment 'qa' in mlops.yaml (environments: dev, "
               "staging, prod)\n")
    assert mlops(capsys, "compile", "--promote", "prod=latest") == (
        2, "", "--promote prod=latest: expected an image digest 'sha256:' followed by 64 hex "
               "digits\n")
    assert mlops(capsys, "compile", "--promote", "prod") == (
        2, "", "--promote prod: expected ENV=sha256:DIGEST\n")


def test_compile_imports_nothing_heavy(repo: Path) -> None:
    probe = (
        "import json, sys\n"
        "from mlops.cli.main import main\n"
        "try:\n    main(['compile', 'mlops.yaml'])\nexcept SystemExit as exit:\n    code = exit.code\n"
        f"print(json.dumps([code, sorted(m for m in {HEAVY!r} if m in sys.modules)]))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=repo, capture_output=True,
                            text=True, check=True)
    assert json.loads(result.stdout.splitlines()[-1]) == [0, []]
    assert (repo / "generated/load/locustfile.py").is_file()
