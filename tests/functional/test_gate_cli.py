"""`mlops gate data` and `mlops report` as a user runs them, on copies of the example."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.projects import breast_cancer_project

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("onnxruntime", "sklearn", "torch", "locust", "scipy")


def mlops(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CI": "true"}
    return subprocess.run([sys.executable, "-m", "mlops", *args], cwd=cwd, capture_output=True,
                          text=True, env=env, timeout=300)


def test_gate_data_passes_and_writes_reports(tmp_path: Path) -> None:
    spec = breast_cancer_project(tmp_path / "p")
    done = mlops("gate", "data", str(spec), "--report-dir", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "breast-cancer: passed\n"
    assert done.stderr.splitlines()[0] == "gate data ..."
    assert "\x1b[" not in done.stderr  # plain output under CI=true
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "junit-data.xml", "report-data.html", "report-data.json", "report-data.md"]
    saved = json.loads((tmp_path / "out/report-data.json").read_text())
    assert saved["schema_version"] == 1 and saved["status"] == "pass"


def test_gate_data_fails_on_bad_data_and_report_re_renders(tmp_path: Path) -> None:
    spec = breast_cancer_project(tmp_path / "p")
    train = tmp_path / "p/data/train.csv"
    train.write_text(train.read_text().replace("mean_radius", "radius_mean", 1))
    done = mlops("gate", "data", str(spec), "--report-dir", "out", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout == "breast-cancer: FAILED (1 failing checks: data/train.columns)\n"
    assert ("  fail: train.columns: data/train.csv: missing column 'mean_radius'; not in the "
            "schema: 'radius_mean'") in done.stderr.splitlines()
    again = mlops("report", "out/report-data.json", "--format", "md", "--out", "again", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout == f"wrote {Path('again') / 'report-data.md'}\n"
    original = (tmp_path / "out/report-data.md").read_text()
    assert (tmp_path / "again/report-data.md").read_text() == original
    assert original.startswith("<!-- mlops-report:breast-cancer -->\n")
    every = mlops("report", "out/report-data.json", cwd=tmp_path)
    assert every.returncode == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "junit-data.xml", "report-data.html", "report-data.json", "report-data.md"]


def test_report_errors(tmp_path: Path) -> None:
    missing = mlops("report", "nope.json", cwd=tmp_path)
    assert (missing.returncode, missing.stderr) == (2, "nope.json: file not found\n")
    (tmp_path / "bad.json").write_text("[1, 2]")
    bad = mlops("report", "bad.json", cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.startswith("bad.json: not an mlops gate report: ")
    unknown = mlops("gate", "speed", cwd=tmp_path)
    assert unknown.returncode == 2
    assert "'speed' is not one of 'data', 'model', 'bench', 'load', " in unknown.stderr


def test_gate_data_imports_no_model_runtime(tmp_path: Path) -> None:
    spec = breast_cancer_project(tmp_path / "p")
    probe = (
        "import json, sys\nfrom mlops.cli.main import main\n"
        f"try:\n    main(['gate', 'data', {str(spec)!r}, '--report-dir', 'out'])\n"
        "except SystemExit as exit:\n    code = exit.code\n"
        f"print(json.dumps([code, sorted(m for m in {HEAVY!r} if m in sys.modules)]))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True,
                          text=True, check=True, env={**os.environ, "CI": "true"})
    assert json.loads(done.stdout.splitlines()[-1]) == [0, []]
