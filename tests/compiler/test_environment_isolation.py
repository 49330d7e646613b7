"""Environments never collide: across every target, what one environment creates has a name no
other environment uses in the same place (file, namespace, GitOps controller, workflow job)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from mlops.compiler.compile import render_spec
from mlops.compiler.plan import GeneratedFile
from mlops.spec.loader import LoadedSpec
from mlops.spec.yaml_source import parse_yaml
from tests.compiler.k8s_support import SPEC_NAMES, context, documents, kustomize, load, parse

Doc = dict[str, Any]
MULTI = [name for name in SPEC_NAMES if len(load(name).spec.deploy.environments) > 1]


def _tree(loaded: LoadedSpec, root: Path) -> dict[PurePosixPath, GeneratedFile]:
    """Every target's files (render_spec refuses a path produced twice), written under root."""
    files = {file.path: file for file in render_spec(loaded, context(loaded))}
    for file in files.values():
        (root / file.path).parent.mkdir(parents=True, exist_ok=True)
        (root / file.path).write_text(file.content, encoding="utf-8")
    return files


def _identities(loaded: LoadedSpec, root: Path,
                files: dict[PurePosixPath, GeneratedFile]) -> Counter[tuple[str, str, str, str]]:
    """(group, kind, namespace, name) of every object any environment's controller applies."""
    docs: list[Doc] = []
    for env in loaded.spec.deploy.environments:
        docs += documents(kustomize(root / "generated" / "k8s" / "overlays" / env.name))
    docs += [doc for path, file in files.items() if path.suffix == ".yaml" and (
        path.parent.name in ("argocd", "flux") or path.name == "prometheusrule.yaml")
        for doc in parse(file)]
    return Counter((doc["apiVersion"].rpartition("/")[0], doc["kind"],
                    doc["metadata"].get("namespace", ""), doc["metadata"]["name"]) for doc in docs)


@pytest.mark.parametrize("name", MULTI)
def test_no_two_objects_share_a_name_in_one_namespace(name: str, tmp_path: Path) -> None:
    loaded = load(name)
    files = _tree(loaded, tmp_path)
    repeated = [key for key, count in _identities(loaded, tmp_path, files).items() if count > 1]
    assert repeated == []


@pytest.mark.parametrize("name", MULTI)
def test_workflows_give_each_environment_its_own_job(name: str, tmp_path: Path) -> None:
    loaded = load(name)
    files = _tree(loaded, tmp_path)
    workflows = [file for path, file in files.items() if path.parts[:2] == (".github", "workflows")]
    assert workflows
    for workflow in workflows:
        parsed = parse_yaml(workflow.content, str(workflow.path))
        assert parsed.problems == []  # a repeated job id would be a duplicate key
    release = next(parse_yaml(w.content, "r").data for w in workflows if "release" in w.path.name)
    # the image job reads another registry's push credential in the mlops-registry environment
    environments = [job.get("environment") for job in release["jobs"].values()
                    if job.get("environment") not in (None, "mlops-registry")]
    assert sorted(environments) == sorted(env.name for env in loaded.spec.deploy.environments)


def test_the_check_sees_environments_that_would_collide(tmp_path: Path) -> None:
    """What validate refuses (two environments in one namespace) really collides."""
    loaded = load("canary-argocd")
    staging, production = loaded.spec.deploy.environments
    shared = loaded.spec.deploy.model_copy(update={"environments": [
        staging, production.model_copy(update={"namespace": staging.namespace})]})
    colliding = LoadedSpec(loaded.spec.model_copy(update={"deploy": shared}), loaded.path,
                           loaded.source, loaded.text)
    files = _tree(colliding, tmp_path)
    repeated = {key[1] for key, count in _identities(colliding, tmp_path, files).items()
                if count > 1}
    assert {"Deployment", "Service", "CronJob", "ServiceAccount"} <= repeated
