"""The generated Kubernetes tree, judged by the real tools: kubernetes-validate and checkov.

Each validator also gets a deliberately broken input first-hand, so a validator that silently
checks nothing (wrong flags, empty folder) fails the suite instead of passing it.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.compiler.k8s_support import CHECKOV, SPEC_NAMES, kustomize, load, render, run, tool, write_tree

KUBERNETES_VERSION = "1.32.0"
# Every checkov skip must be listed here and justified next to its annotation in the template.
ALLOWED_SKIPS = {"CKV_K8S_43"}  # image digest: pinned by `mlops compile --promote` at release


def _validate(manifests: str) -> subprocess.CompletedProcess[str]:
    return run([tool("kubernetes-validate"), "--strict", "-k", KUBERNETES_VERSION, "-"],
               stdin=manifests)


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each spec's generated/ folder, written once with headers like `mlops compile` writes it."""
    return {name: write_tree(render(load(name)), tmp_path_factory.mktemp(name))
            for name in SPEC_NAMES}


def _rendered(tree: Path, name: str) -> dict[str, str]:
    """Everything a cluster receives: each built overlay, and the GitOps controller objects."""
    spec = load(name).spec
    out = {f"overlay-{env.name}": kustomize(tree / "k8s" / "overlays" / env.name)
           for env in spec.deploy.environments}
    if spec.load.cluster is not None:  # the in-cluster load test (generated/k8s/load/<env>)
        out |= {f"load-{env.name}": kustomize(tree / "k8s" / "load" / env.name)
                for env in spec.deploy.environments}
    for folder in ("argocd", "flux"):
        for path in sorted((tree / "k8s" / folder).glob("*.yaml")):
            out[f"{folder}-{path.stem}"] = path.read_text(encoding="utf-8")
    return out


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_kubernetes_validate_accepts_every_overlay(name: str, trees: dict[str, Path]) -> None:
    for label, manifests in _rendered(trees[name], name).items():
        result = _validate(manifests)
        report = result.stdout + result.stderr
        assert result.returncode == 0, f"{name} {label}:\n{report}"
        assert "ERROR" not in report, report
        if label.startswith("overlay-"):
            for kind in ("deployment", "service", "networkpolicy", "poddisruptionbudget",
                         "serviceaccount", "configmap", *_monitor_kinds(name)):
                assert f"passed for resource {kind}/" in report, f"{kind} not validated: {report}"


def _monitor_kinds(name: str) -> tuple[str, ...]:
    """("cronjob",) where the spec's monitor runs in the cluster (a claim shares the log)."""
    log = load(name).spec.serving.request_log
    return ("cronjob",) if log is not None and log.claim is not None else ()


def test_kubernetes_validate_rejects_a_broken_manifest(trees: dict[str, Path]) -> None:
    manifests = kustomize(trees["root"] / "k8s" / "overlays" / "staging")
    # A misspelt field: only --strict catches it.
    broken = re.sub(r"^( *)imagePullPolicy: Always$", r"\1imagePullPolicy: Always\n\1pullSecret: x",
                    manifests, count=1, flags=re.MULTILINE)
    assert broken != manifests
    result = _validate(broken)
    assert result.returncode != 0 and "pullSecret" in result.stdout + result.stderr


@pytest.fixture(scope="module")
def checkov_report(trees: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
                   ) -> dict[str, Any]:
    """One checkov run (~10 s) over every spec's manifests, each spec in its own folder, plus a
    deliberately insecure copy of the root staging overlay in `insecure/`."""
    folder = tmp_path_factory.mktemp("checkov")
    for name in SPEC_NAMES:
        (folder / name).mkdir()
        for label, manifests in _rendered(trees[name], name).items():
            (folder / name / f"{label}.yaml").write_text(manifests, encoding="utf-8")
    staging = kustomize(trees["root"] / "k8s" / "overlays" / "staging")
    insecure = staging.replace("readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false")
    assert insecure != staging
    (folder / "insecure").mkdir()
    (folder / "insecure" / "staging.yaml").write_text(insecure, encoding="utf-8")
    # JSON without --quiet, which would drop the skipped checks audited below.
    result = run([tool("checkov", CHECKOV), "--framework", "kubernetes", "--skip-download",
                  "--compact", "--output", "json", "--directory", str(folder)], timeout=600)
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    report = report[0] if isinstance(report, list) else report
    assert "results" in report, f"checkov scanned nothing: {report}"
    return dict(report["results"])


def _checks(report: dict[str, Any], outcome: str, folder: str) -> list[dict[str, Any]]:
    return [c for c in report.get(outcome, []) if c["file_path"].startswith(f"/{folder}/")]


@pytest.mark.slow
@pytest.mark.parametrize("name", SPEC_NAMES)
def test_checkov_finds_no_failed_check(name: str, checkov_report: dict[str, Any]) -> None:
    failed = [(c["check_id"], c["resource"], c["check_name"])
              for c in _checks(checkov_report, "failed_checks", name)]
    assert failed == []
    passed = _checks(checkov_report, "passed_checks", name)
    for env in load(name).spec.deploy.environments:
        scanned = [c for c in passed if c["file_path"] == f"/{name}/overlay-{env.name}.yaml"]
        kinds = {c["resource"].split(".")[0] for c in scanned}
        expected = {"Deployment", "Service", "ServiceAccount"} | {
            kind.replace("cronjob", "CronJob") for kind in _monitor_kinds(name)}
        assert expected <= kinds, (env.name, kinds)
        assert len(scanned) > 80, env.name
    for check in _checks(checkov_report, "skipped_checks", name):
        assert check["check_id"] in ALLOWED_SKIPS, check["check_id"]
        assert check["check_result"].get("suppress_comment"), f"unjustified skip: {check}"
    assert checkov_report["parsing_errors"] == []


@pytest.mark.slow
def test_checkov_fails_an_insecure_variant(checkov_report: dict[str, Any]) -> None:
    failed = {c["check_id"] for c in _checks(checkov_report, "failed_checks", "insecure")}
    assert "CKV_K8S_22" in failed


def test_a_missing_validator_fails_under_ci_and_skips_elsewhere(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="make tools"):
        tool("no-such-validator")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="make tools"):
        tool("no-such-validator")
