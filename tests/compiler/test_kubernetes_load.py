"""The in-cluster load test's files (`load.cluster`): what they hold, the image that runs them, the
canary's analysis Job judged by kubernetes-validate, and the located errors when the rows cannot
be put into a ConfigMap. (The Jobs' commands are run for real in test_kubernetes_load_run.py.)"""

from __future__ import annotations

import csv
import io
import re
import shutil
from importlib.metadata import version
from pathlib import Path, PurePosixPath

import pytest
import yaml

from mlops.cli.main import main
from mlops.compiler.targets import load as load_target
from mlops.compiler.targets.kubernetes_load import (
    CONFIGMAP_BUDGET,
    CONFIGMAP_LIMIT,
    LOCUST_IMAGE,
    LOCUST_VERSION,
)
from mlops.spec.kubernetes_names import DerivedNames
from mlops.spec.loader import LoadedSpec, validate_text
from tests.compiler.k8s_crds import is_custom
from tests.compiler.k8s_crds import problems as crd_problems
from tests.compiler.k8s_support import (
    FIXTURES,
    SPECS,
    context,
    documents,
    kustomize,
    load,
    parse,
    render,
    run,
    tool,
    write_tree,
)
from tests.compiler.test_kubernetes_validators import KUBERNETES_VERSION
from tests.specs import breast_cancer, changed, edit_spec, location, spec_yaml

K8S = PurePosixPath("generated/k8s")


def _mlops(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    return int(exited.value.code or 0), capsys.readouterr().err


def test_locust_runs_in_the_image_of_the_load_extras_version() -> None:
    """The cluster runs the locustfile with the Locust the local gate runs it with."""
    assert version("locust") == LOCUST_VERSION
    assert LOCUST_IMAGE.rsplit(":", 1) == ["docker.io/locustio/locust", LOCUST_VERSION]


def test_the_configmap_holds_the_gates_locustfile_its_options_and_the_first_rows() -> None:
    loaded = load("canary-argocd")
    files = render(loaded)
    (config,) = parse(files[K8S / "load" / "config" / "configmap.yaml"])
    data = config["data"]
    assert sum(len(text.encode()) for text in data.values()) <= CONFIGMAP_BUDGET < CONFIGMAP_LIMIT
    test_rows = list(csv.reader(io.StringIO((FIXTURES / "canary-argocd" / "test.csv").read_text())))
    rows = list(csv.reader(io.StringIO(data["rows.csv"])))
    features = list(loaded.spec.data.features)
    assert rows[0] == features
    assert rows[1:] == [row[:len(features)] for row in test_rows[1:51]]
    assert data["locust.conf"] == ("# The master's Locust options, from the load section of "
                                   "mlops.yaml (workers take theirs from it).\nheadless = true\n"
                                   "users = 8\nspawn-rate = 4\nrun-time = 20s\nonly-summary = true\n")
    # The same SLOs as the local gate's locustfile, checked by the same code.
    slos = re.compile(r"^SLOS: .*?^\)$", re.MULTILINE | re.DOTALL)
    local = slos.search(render_load(loaded)).group(0)  # type: ignore[union-attr]
    assert slos.search(data["locustfile.py"]).group(0) == local  # type: ignore[union-attr]
    assert "p95_ms" in local and "error_rate" in local


def render_load(loaded: LoadedSpec) -> str:
    """The load target's locustfile for the same spec."""
    (locustfile,) = [f for f in load_target.TARGET.render(context(loaded))
                     if f.path.name == "locustfile.py"]
    return locustfile.content


@pytest.mark.parametrize("name", ["canary-argocd", "long-names"])
def test_the_canary_analysis_job_is_a_valid_job(name: str) -> None:
    """kubernetes-validate --strict on the Job Argo Rollouts creates from the metric."""
    spec = load(name).spec
    env = next(e for e in spec.deploy.environments if e.rollout.strategy == "canary")
    files = render(load(name))
    (template,) = parse(files[K8S / "overlays" / env.name / "analysistemplate.yaml"])
    (metric,) = [m for m in template["spec"]["metrics"] if "job" in m["provider"]]
    job = metric["provider"]["job"]
    document = {"apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": "analysis-run", "namespace": env.namespace, **job["metadata"]},
                "spec": job["spec"]}
    result = run([tool("kubernetes-validate"), "--strict", "-k", KUBERNETES_VERSION, "-"],
                 stdin=yaml.safe_dump(document))
    assert result.returncode == 0 and "passed for resource job/" in result.stdout, (
        result.stdout + result.stderr)
    names = [c["name"] for c in job["spec"]["template"]["spec"]["containers"]]
    assert names == ["master", *[f"worker-{i}" for i in range(spec.load.cluster.workers)]]  # type: ignore[union-attr]
    assert job["spec"]["backoffLimit"] == 0 and metric["failureLimit"] == 0


def test_staging_runs_it_after_each_sync_and_production_does_not() -> None:
    files = render(load("canary-argocd"))
    hooks = {env: [d["metadata"].get("annotations", {}).get("argocd.argoproj.io/hook")
                   for d in parse(files[K8S / "load" / env / "jobs.yaml"])]
             for env in ("staging", "production")}
    assert hooks == {"staging": ["PostSync", "PostSync"], "production": [None, None]}
    staging = files[K8S / "overlays" / "staging" / "kustomization.yaml"].content
    production = files[K8S / "overlays" / "production" / "kustomization.yaml"].content
    assert "  - ../../load/staging\n" in staging
    assert "  - ../../load/config\n" in production and "../../load/production" not in production


def test_flux_applies_the_staging_load_test_after_staging() -> None:
    loaded = load("long-names")
    staging = loaded.spec.deploy.environments[0]
    files = render(loaded)
    (kustomization,) = parse(files[K8S / "flux" / f"{staging.name}-load.yaml"])
    assert kustomization["spec"]["dependsOn"] == [
        {"name": "customer-lifetime-value-forecast-model-v-staging-europ-39e9b529"}]
    assert kustomization["spec"]["path"] == f"./generated/k8s/load/{staging.name}"
    assert kustomization["spec"]["wait"] is True and kustomization["spec"]["force"] is True


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(FIXTURES / "canary-argocd", tmp_path, dirs_exist_ok=True)
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_rows_over_a_configmaps_limit_are_a_located_error(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wide = "\n".join(f"1{'0' * 50},1.{'5' * 60},0" for _ in range(10_000))
    (repo / "test.csv").write_text(f"tenure_months,monthly_spend,churned\n{wide}\n")
    edit_spec(repo / "mlops.yaml", {"load.cluster.rows": 10_000})
    code, err = _mlops(capsys, "compile")
    where = location((repo / "mlops.yaml").read_text(), "load.cluster.rows")
    match = re.fullmatch(
        rf"mlops\.yaml:{where}: load\.cluster\.rows: 10000 rows of test\.csv make the load test's "
        rf"ConfigMap (\d+) bytes, over the {CONFIGMAP_BUDGET} its data may take \(Kubernetes' "
        r"limit is 1 MiB\); set load\.cluster\.rows to at most (\d+)\n", err)
    assert code == 1 and match is not None, err
    assert int(match.group(1)) > CONFIGMAP_BUDGET
    assert not (repo / "generated").exists()
    edit_spec(repo / "mlops.yaml", {"load.cluster.rows": int(match.group(2))})
    assert _mlops(capsys, "compile")[0] == 0


def test_missing_test_rows_are_a_located_error(repo: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "test.csv").unlink()
    code, err = _mlops(capsys, "compile")
    where = location((repo / "mlops.yaml").read_text(), "data.test")
    assert (code, err) == (1, f"mlops.yaml:{where}: data.test: test.csv not found: load.cluster "
                              "copies its first rows into the in-cluster load test's ConfigMap at "
                              "compile time\n")


def test_a_routed_canary_is_load_tested_through_the_routers_canary_service(tmp_path: Path) -> None:
    """With a traffic router the router's canary Service is the one the load test targets: one
    Service, one canaryService, and the analysis Job's host names it. The canary runs at weight 0
    until that load test passed: no user reaches a canary that has not met the load SLOs."""
    changes = {"load.cluster": {"workers": 2, "rows": 20},
               "deploy.environments.1.rollout.traffic": {"router": "istio",
                                                         "hosts": ["breast-cancer"]}}
    loaded = validate_text(spec_yaml(changed(breast_cancer(), changes)), SPECS["root"],
                           display="mlops.yaml")
    production = loaded.spec.deploy.environments[1]
    tree = write_tree(render(loaded), tmp_path)
    docs = documents(kustomize(tree / "k8s" / "overlays" / production.name))
    canary = DerivedNames(loaded.spec).canary_service
    assert [d["metadata"]["name"] for d in docs if d["kind"] == "Service"].count(canary) == 1
    (rollout,) = [d for d in docs if d["kind"] == "Rollout"]
    assert rollout["spec"]["strategy"]["canary"]["canaryService"] == canary
    templates = {d["metadata"]["name"]: d for d in docs if d["kind"] == "AnalysisTemplate"}
    background = templates["breast-cancer-canary"]["spec"]["metrics"]
    assert not [m for m in background if "job" in m["provider"]]
    (metric,) = templates["breast-cancer-canary-load"]["spec"]["metrics"]
    steps = rollout["spec"]["strategy"]["canary"]["steps"]
    assert steps[:4] == [{"setCanaryScale": {"replicas": 1}},
                         {"analysis": {"templates": [{"templateName": "breast-cancer-canary-load"}]}},
                         {"setCanaryScale": {"matchTrafficWeight": True}},
                         {"setWeight": production.rollout.steps[0]}]
    assert rollout["spec"]["strategy"]["canary"]["analysis"]["startingStep"] == 4
    master = metric["provider"]["job"]["spec"]["template"]["spec"]["containers"][0]
    host = {e["name"]: e["value"] for e in master["env"]}["LOCUST_HOST"]
    assert host == f"http://{canary}.{production.namespace}.svc:80"
    assert [p for d in docs if is_custom(d) for p in crd_problems(d, docs)] == []


def test_flux_leaves_a_canary_staging_to_its_analysis() -> None:
    """A canary environment is load-tested by its analysis; a second Flux Kustomization would
    also own the ConfigMap its overlay applies."""
    changes = {"load.cluster": {"workers": 1, "rows": 20}, "deploy.gitops": "flux",
               "deploy.environments.0.rollout": {"strategy": "canary", "steps": [50, 100]}}
    loaded = validate_text(spec_yaml(changed(breast_cancer(), changes)), SPECS["root"],
                           display="mlops.yaml")
    paths = set(render(loaded))
    assert K8S / "flux" / "staging.yaml" in paths
    assert K8S / "flux" / "staging-load.yaml" not in paths
    assert K8S / "overlays" / "staging" / "canary-service.yaml" in paths
