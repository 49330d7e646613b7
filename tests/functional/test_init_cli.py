"""`mlops init` pointed at a team's data and model (issue #19), through the real CLI.

- The breast-cancer example's inferred schema is the hand-written one up to the documented
  margins: same columns, order, dtypes and nullability, the target's classes, and every bound
  exactly the observed range widened by the rule, inside the team's own (wider) bounds.
- Broken inputs give one located error, the documented exit code, and write nothing.
- `--print` writes nothing; two runs give the same bytes; an existing spec is never overwritten.
- (slow) For the three examples and an outside team's repository (Parquet, text with nulls, an
  unused id column, a multi-input scikit-learn pipeline, a multiclass text target), `mlops init`,
  then `mlops compile` (as a team commits generated files), then `mlops release` pass unedited.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from ruamel.yaml import YAML

from mlops.harness.init.schema import MARGIN, widen
from mlops.spec.loader import load_spec
from tests.projects import ROOT, commit_and_push, make_repository, write_files

FLAGS = {"breast-cancer": "--target label", "churn": "--target churned", "digits": "--target label"}
EXAMPLE_FILES = {"breast-cancer": ROOT, "churn": ROOT / "examples" / "churn",
                 "digits": ROOT / "examples" / "digits"}
SPLITS = ("train", "test", "current")
DATA = ["--data", "data/train.csv", "--test", "data/test.csv", "--current", "data/current.csv",
        "--model", "models/model.onnx"]
RELEASE_TIMEOUT = 900


def mlops(folder: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mlops", *args], cwd=folder, capture_output=True,
                          text=True, timeout=timeout, check=False)


def example_project(folder: Path, example: str) -> Path:
    """The example's data splits and ONNX model, without its spec: what a team starts from."""
    source = EXAMPLE_FILES[example]
    files: dict[str, str | bytes] = {f"data/{split}.csv": (source / "data" / f"{split}.csv").read_bytes()
                                     for split in SPLITS}
    files["models/model.onnx"] = (source / "models" / "model.onnx").read_bytes()
    folder.mkdir(parents=True, exist_ok=True)
    write_files(folder, files)
    return folder


def listing(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def init(folder: Path, example: str, *more: str) -> subprocess.CompletedProcess[str]:
    return mlops(folder, "init", *DATA, *FLAGS[example].split(), *more)


# --- what is inferred ----------------------------------------------------------------------------


def test_the_breast_cancer_schema_is_the_hand_written_one_up_to_the_margins(tmp_path: Path) -> None:
    project = example_project(tmp_path / "bc", "breast-cancer")
    result = init(project, "breast-cancer", "--print")
    assert result.returncode == 0, result.stderr
    inferred: dict[str, dict[str, Any]] = YAML(typ="safe").load(result.stdout)["data"]["schema"]
    hand = load_spec(ROOT / "mlops.yaml").spec.data.columns
    assert list(inferred) == list(hand)
    observed = pd.concat([pd.read_csv(project / "data" / f"{split}.csv") for split in SPLITS])
    for name, column in hand.items():
        found = inferred[name]
        assert (found["dtype"], found.get("nullable", False)) == (column.dtype, column.nullable), name
        if name == "label":
            assert found["allowed"] == column.allowed == [0, 1]
            continue
        low, high = float(observed[name].min()), float(observed[name].max())
        assert (Decimal(str(found["min"])), Decimal(str(found["max"]))) == widen(
            low, high, integer=False), name
        assert column.min is not None and column.max is not None
        assert column.min <= found["min"] <= low and high <= found["max"] <= column.max, name
        margin = float(MARGIN) * (high - low)
        assert found["min"] == 0 or low - found["min"] >= margin, name
        assert found["max"] - high >= margin, name


# --- broken inputs ------------------------------------------------------------------------------

BC_HEADER = ", ".join(pd.read_csv(ROOT / "data" / "test.csv", nrows=0).columns)
CHURN_HEADER = "plan, contract, payment_method, country, tenure_months, support_calls, " \
               "monthly_charges, avg_session_minutes, churned"


def rename_column(path: Path, old: str, new: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    lines[0] = lines[0].replace(old, new)
    path.write_text("".join(lines))


def drop_column(path: Path, name: str) -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.drop(columns=[name]).to_csv(path, index=False)


def text_in_row(path: Path, row: int, column: str, value: str) -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[row - 1, column] = value
    frame.to_csv(path, index=False)


def arguments(example: str, **changed: str | None) -> list[str]:
    """The flags of a run on an example's files, with some changed (None: left out)."""
    flags: dict[str, str | None] = {"data": "data/train.csv", "test": "data/test.csv",
                                    "current": "data/current.csv", "model": "models/model.onnx",
                                    "target": FLAGS[example].split()[1], **changed}
    return [item for flag, value in flags.items() if value is not None
            for item in (f"--{flag}", value)]


BROKEN = [
    ("missing file", "breast-cancer", None, {"data": "data/nope.csv"}, 1,
     "--data data/nope.csv: file not found"),
    ("malformed row", "breast-cancer",
     lambda p: (p / "data" / "train.csv").write_text(
         (ROOT / "data" / "train.csv").read_text().replace("\n13.21,", "\n13.21\n", 1)), {}, 1,
     "data/train.csv:3: 2 row(s) with 1 fields where the header has 31, the first: '13.21'"),
    ("target not in the data", "breast-cancer", None, {"target": "labels"}, 1,
     f"data/train.csv:1: no column 'labels' (the --target) (did you mean 'label'?); its columns: "
     f"{BC_HEADER}"),
    ("target not in the test split", "churn", lambda p: drop_column(p / "data" / "test.csv", "churned"),
     {}, 1, "data/test.csv:1: no column 'churned' (the --target), which the model gate needs in the "
            f"test split; its columns: {CHURN_HEADER.removesuffix(', churned')}"),
    ("a column the model needs is missing", "churn",
     lambda p: rename_column(p / "data" / "train.csv", "tenure_months", "tenure"), {}, 1,
     "data/train.csv:1: models/model.onnx needs a column 'tenure_months' (input int64 [?, 1]), which "
     "the header lacks (did you mean 'tenure'?); its columns: "
     + CHURN_HEADER.replace("tenure_months", "tenure")),
    ("a column the model needs is missing from another split", "churn",
     lambda p: drop_column(p / "data" / "current.csv", "country"), {}, 1,
     "data/current.csv:1: no column 'country', which the model takes (it is in data/train.csv)"),
    ("text for the model's float input", "breast-cancer",
     lambda p: text_in_row(p / "data" / "test.csv", 7, "mean_texture", "n/a?"), {}, 1,
     "column 'mean_texture' holds text ('n/a?' at data/test.csv:8), but models/model.onnx takes "
     "one input 'input' (float [?, 30]); a text column needs a string input (export one input per "
     "column)"),
    ("nulls for the model's integer input", "churn",
     lambda p: text_in_row(p / "data" / "current.csv", 3, "support_calls", ""), {}, 1,
     "column 'support_calls' has nulls (the first at data/current.csv:4), but models/model.onnx's "
     "input 'support_calls' is int64 [?, 1], which cannot hold a missing value"),
    ("not an ONNX file", "breast-cancer",
     lambda p: (p / "models" / "model.onnx").write_text("not a model\n"), {}, 1,
     "models/model.onnx: not a valid ONNX model (unsupported wire type 6 in field 13)"),
    ("no --target", "breast-cancer", None, {"target": None}, 2,
     "inferring a spec needs --data, --model and --target; missing --target"),
    ("--gitops without --repository", "breast-cancer", None, {"gitops": "flux"}, 2,
     "--gitops flux needs --repository: the Git URL the controller syncs from"),
    ("mixed formats", "breast-cancer",
     lambda p: pq.write_table(pa_csv.read_csv(p / "data" / "current.csv"), p / "data" / "current.parquet"),
     {"current": "data/current.parquet"}, 2,
     "the data files mix CSV and Parquet (--data data/train.csv, --test data/test.csv, --current "
     "data/current.parquet); data.format is one format for every split"),
]


@pytest.mark.parametrize(("example", "change", "changed", "code", "message"),
                         [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN])
def test_broken_inputs_are_located_and_nothing_is_written(
        tmp_path: Path, example: str, change: Callable[[Path], object] | None,
        changed: dict[str, str | None], code: int, message: str) -> None:
    project = example_project(tmp_path / "team", example)
    if change is not None:
        change(project)
    before = listing(project)
    result = mlops(project, "init", *arguments(example, **changed))
    assert (result.returncode, result.stderr) == (code, message + "\n")
    assert listing(project) == before


def test_a_file_outside_the_spec_folder_is_a_usage_error(tmp_path: Path) -> None:
    project = example_project(tmp_path / "team", "breast-cancer")
    (tmp_path / "elsewhere.csv").write_bytes((project / "data" / "train.csv").read_bytes())
    result = mlops(project, "init", "--data", "../elsewhere.csv", "--model", "models/model.onnx",
                   "--target", "label")
    assert result.returncode == 2
    assert result.stderr == (f"--data ../elsewhere.csv: outside the spec's folder {project.resolve()}; "
                             "every path in mlops.yaml is relative to it\n")
    assert not (project / "mlops.yaml").exists()


# --- writing -----------------------------------------------------------------------------------


def test_print_writes_nothing_and_two_runs_write_the_same_bytes(tmp_path: Path) -> None:
    project = example_project(tmp_path / "churn-team", "churn")
    printed = init(project, "churn", "--print")
    assert printed.returncode == 0, printed.stderr
    assert not (project / "mlops.yaml").exists()
    assert printed.stderr.startswith("read data/train.csv (3,000 rows), data/test.csv (1,000 rows), "
                                     "data/current.csv (1,000 rows)\n")
    written = init(project, "churn")
    assert written.returncode == 0, written.stderr
    assert (project / "mlops.yaml").read_text() == printed.stdout
    assert written.stdout.endswith("wrote mlops.yaml; next: 'mlops compile mlops.yaml', then "
                                   "'mlops release mlops.yaml'\n")
    spec = load_spec(project / "mlops.yaml").spec
    assert (spec.name, spec.model.task, spec.model.labels, spec.model.output) == (
        "churn-team", "binary_classification", ["no", "yes"], "probabilities")
    assert spec.metrics.robustness.perturb == {"plan": "keep", "contract": "keep",
                                               "payment_method": "keep"}
    again = init(project, "churn")
    assert (again.returncode, again.stderr) == (1, "mlops.yaml:1:1: already exists; not overwriting "
                                                   "it (remove it or pass another path)\n")
    assert (project / "mlops.yaml").read_text() == printed.stdout


# --- init, then release, unedited (slow) -------------------------------------------------------


def release(project: Path) -> dict[str, Any]:
    """`mlops compile` then `mlops release`, as a team runs them; the release's report."""
    compiled = mlops(project, "compile", "mlops.yaml")
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    released = mlops(project, "release", "mlops.yaml", timeout=RELEASE_TIMEOUT)
    assert released.returncode == 0, released.stdout[-4000:] + released.stderr[-4000:]
    report: dict[str, Any] = json.loads((project / "reports" / "report.json").read_text())
    return report


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {f"{gate['gate']}.{check['name']}": check["status"] for gate in report["gates"]
            for check in gate["checks"]}


@pytest.mark.slow
@pytest.mark.parametrize("example", list(EXAMPLE_FILES))
def test_an_example_releases_with_the_spec_init_wrote(tmp_path: Path, example: str) -> None:
    project = example_project(tmp_path / example, example)
    written = init(project, example)
    assert written.returncode == 0, written.stderr
    found = statuses(release(project))
    assert not [name for name, status in found.items() if status in ("fail", "error")]
    for gate in ("data", "model", "bench", "load"):
        assert any(name.startswith(f"{gate}.") and status == "pass" for name, status in found.items())


# --- an outside team: Parquet, text with nulls, a multi-input pipeline ---------------------------

TEAM_FEATURES = ("region", "channel", "visits", "spend")
TIERS = ("bronze", "gold", "silver")


def team_table(seed: int, rows: int) -> pa.Table:
    """Customers: an id the model does not take, text columns (one with nulls), an integer count,
    a float with nulls; the tier (bronze/silver/gold) follows spend, visits and region."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "east", "west"], rows).astype(object)
    region[rng.random(rows) < 0.05] = None
    channel = rng.choice(["web", "app", "store"], rows, p=[0.5, 0.3, 0.2])
    visits = rng.poisson(4, rows)
    spend = np.round(rng.gamma(2.0, 30.0, rows), 2)
    score = spend / 30 + 0.4 * visits + np.where(region == "north", 1.5, 0.0) + rng.normal(0, 0.7, rows)
    tier = np.where(score < 3.5, "bronze", np.where(score < 5.5, "silver", "gold"))
    spend_with_nulls = np.where(rng.random(rows) < 0.08, np.nan, spend)
    return pa.table({
        "customer_id": pa.array(np.arange(seed * 100_000, seed * 100_000 + rows)),
        "region": pa.array(list(region), pa.string()),
        "visits": pa.array(visits),
        "spend": pa.array(spend_with_nulls, from_pandas=True),
        "channel": pa.array(channel),
        "tier": pa.array(tier),
    })


def team_model(train: pa.Table) -> bytes:
    """The team's scikit-learn pipeline (imputers, one-hot encoding, logistic regression),
    exported by skl2onnx with one graph input per column, nulls as the contract feeds them."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame = train.to_pandas()
    features = frame[list(TEAM_FEATURES)].copy()
    features[["region", "channel"]] = features[["region", "channel"]].fillna("")
    strings = Pipeline([("impute", SimpleImputer(missing_values="", strategy="constant",
                                                 fill_value="missing")),
                        ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False))])
    model = Pipeline([
        ("columns", ColumnTransformer([("strings", strings, ["region", "channel"]),
                                       ("visits", "passthrough", ["visits"]),
                                       ("spend", SimpleImputer(strategy="median"), ["spend"])])),
        ("classify", LogisticRegression(max_iter=2000)),
    ])
    model.fit(features, frame["tier"])
    types = [("region", StringTensorType([None, 1])), ("channel", StringTensorType([None, 1])),
             ("visits", Int64TensorType([None, 1])), ("spend", FloatTensorType([None, 1]))]
    graph = convert_sklearn(model, initial_types=types, options={id(model): {"zipmap": False}})
    return bytes(graph.SerializeToString())


def parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())


@pytest.mark.slow
def test_an_outside_team_repository_releases_with_the_spec_init_wrote(tmp_path: Path) -> None:
    train, test, current = team_table(1, 3000), team_table(2, 1000), team_table(3, 1000)
    files: dict[str, str | bytes] = {
        "data/train.parquet": parquet_bytes(train), "data/test.parquet": parquet_bytes(test),
        "data/current.parquet": parquet_bytes(current), "models/model.onnx": team_model(train),
        ".gitignore": "reports/\n",
    }
    team = make_repository(tmp_path / "tiers", files, "data and model")
    written = mlops(team, "init", "--data", "data/train.parquet", "--test", "data/test.parquet",
                    "--current", "data/current.parquet", "--model", "models/model.onnx",
                    "--target", "tier", "--name", "customer-tiers", "--environment",
                    "prod:tiers-prod", "--gitops", "argocd", "--repository",
                    "https://github.com/outside/tiers.git")
    assert written.returncode == 0, written.stderr
    spec = load_spec(team / "mlops.yaml").spec
    columns = spec.data.columns
    assert list(columns) == [*TEAM_FEATURES, "tier"]
    assert (columns["region"].dtype, columns["region"].nullable, columns["region"].allowed) == (
        "str", True, ["east", "north", "south", "west"])
    assert (columns["spend"].dtype, columns["spend"].nullable) == ("float", True)
    assert (columns["visits"].dtype, columns["visits"].allowed) == ("int", None)
    assert (spec.model.task, spec.model.labels, columns["tier"].allowed) == (
        "multiclass_classification", list(TIERS), list(TIERS))
    assert (spec.deploy.gitops, spec.deploy.environments[0].namespace) == ("argocd", "tiers-prod")
    assert "customer_id" in (team / "mlops.yaml").read_text()  # named as left out
    assert mlops(team, "compile", "mlops.yaml").returncode == 0
    commit_and_push(team, "mlops.yaml and generated files")
    found = statuses(release(team))
    assert not [name for name, status in found.items() if status in ("fail", "error")]
    assert found["model.no_regression.accuracy"] == "pass"  # the baseline at origin/main resolved
    assert found["data.train.columns"] == "warn"  # customer_id is in the file, not the schema
