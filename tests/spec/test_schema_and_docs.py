"""The JSON Schema accepts the examples and rejects unknown keys; the README reference is current."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from mlops.spec.reference import BEGIN, END, reference_markdown
from mlops.spec.schema import json_schema
from tests.specs import breast_cancer, changed

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = [ROOT / "mlops.yaml", *sorted((ROOT / "examples").glob("*/mlops.yaml")),
            Path(__file__).resolve().parents[1] / "fixtures" / "broken_specs" / "valid.yaml"]


def _cli_schema() -> dict[str, object]:
    out = subprocess.run([sys.executable, "-m", "mlops", "schema"], capture_output=True, text=True,
                         check=True).stdout
    return dict(json.loads(out))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_schema_accepts_examples(path: Path) -> None:
    jsonschema.validate(YAML(typ="safe").load(path.read_text()), _cli_schema())


def test_schema_rejects_unknown_key() -> None:
    data = changed(breast_cancer(), {"serving.prot": 8080})
    with pytest.raises(jsonschema.ValidationError, match="'prot' does not match any of the regexes"):
        jsonschema.validate(data, json_schema())


def test_readme_spec_reference_is_generated_from_the_models() -> None:
    readme = (ROOT / "README.md").read_text()
    start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    assert readme[start:end].strip() == reference_markdown().strip(), (
        "README spec reference is stale: run `mlops docs --write README.md`")


def test_init_writes_a_starter_that_parses(tmp_path: Path) -> None:
    for task in ("binary_classification", "multiclass_classification", "regression"):
        target = tmp_path / f"{task}.yaml"
        subprocess.run([sys.executable, "-m", "mlops", "init", "--task", task, "--name", "demo",
                        str(target)], check=True, capture_output=True)
        jsonschema.validate(YAML(typ="safe").load(target.read_text()), json_schema())
    again = subprocess.run([sys.executable, "-m", "mlops", "init", str(target)],
                           capture_output=True, text=True)
    assert again.returncode == 1
    assert again.stderr == f"{target}:1:1: already exists; not overwriting it (remove it or pass " \
                           "another path)\n"
