"""Generated objects obey the API server's naming rules and the CRDs of the controllers they are
for; a spec that would break them is refused by `validate` with the rule and a suggestion."""

from __future__ import annotations

import copy
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from mlops.compiler.targets.kubernetes import go_duration
from mlops.spec.errors import SpecError
from mlops.spec.kubernetes_names import DerivedNames, fit
from mlops.spec.loader import validate_text
from tests.compiler.k8s_crds import GO_DURATION, crds, is_custom
from tests.compiler.k8s_crds import problems as crd_problems
from tests.compiler.k8s_naming import problems as naming_problems
from tests.compiler.k8s_support import SPEC_NAMES, documents, kustomize, load, parse, render, write_tree

K8S = PurePosixPath("generated/k8s")
Doc = dict[str, Any]
FIXTURE_SPEC = Path(__file__).resolve().parents[1] / "fixtures" / "broken_specs" / "valid.yaml"


def applied(name: str, tmp_path: Path) -> dict[str, list[Doc]]:
    """What each controller applies: every built overlay, and the GitOps objects."""
    loaded = load(name)
    files = render(loaded)
    root = write_tree(files, tmp_path)
    out = {f"overlay {env.name}": documents(kustomize(root / "k8s" / "overlays" / env.name))
           for env in loaded.spec.deploy.environments}
    if loaded.spec.load.cluster is not None:  # the in-cluster load test, applied by hand or CI
        out |= {f"load {env.name}": documents(kustomize(root / "k8s" / "load" / env.name))
                for env in loaded.spec.deploy.environments}
    gitops = [doc for path, file in files.items()
              if path.parent.name in ("argocd", "flux") for doc in parse(file)]
    if gitops:
        out["gitops"] = gitops
    out["monitoring"] = parse(files[PurePosixPath("generated/monitoring/prometheusrule.yaml")])
    return out


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_every_object_obeys_the_api_servers_naming_rules(name: str, tmp_path: Path) -> None:
    for label, docs in applied(name, tmp_path).items():
        assert naming_problems(docs) == [], label


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_custom_resources_match_their_crds(name: str, tmp_path: Path) -> None:
    checked = set()
    for label, docs in applied(name, tmp_path).items():
        for doc in docs:
            if is_custom(doc):
                checked.add(doc["kind"])
                assert crd_problems(doc, docs) == [], label
    spec = load(name).spec
    expected = {"Rollout", "AnalysisTemplate"} if any(
        env.rollout.strategy == "canary" for env in spec.deploy.environments) else set()
    expected |= {"argocd": {"Application"}, "flux": {"GitRepository", "Kustomization"},
                 "none": set()}[spec.deploy.gitops]
    assert checked == expected


def test_names_at_their_limits_are_shortened_deterministically(tmp_path: Path) -> None:
    loaded = load("long-names")
    names = DerivedNames(loaded.spec)
    production = loaded.spec.deploy.environments[1]
    full = f"{loaded.spec.name}-{production.name}"
    assert len(full) == 81
    shortened = names.environment(production)
    assert len(shortened) == 63 and shortened == fit(full) == fit(full)
    assert shortened.startswith(full[:54]) and shortened != fit(full[:-1] + "b")
    docs = applied("long-names", tmp_path)
    kustomizations = [d for d in docs["gitops"] if d["kind"] == "Kustomization"]
    assert {d["metadata"]["name"] for d in kustomizations} == {
        names.environment(env) for env in loaded.spec.deploy.environments} | {
        names.load_environment(env) for env in loaded.spec.deploy.environments[:-1]}
    deployment = next(d for d in docs[f"overlay {production.name}"] if d["kind"] == "Deployment")
    assert deployment["metadata"]["labels"]["app.kubernetes.io/instance"] == shortened


def test_object_names_are_the_derived_names_validate_checks(tmp_path: Path) -> None:
    """The CronJob and ConfigMap names `validate` judges are the ones the templates write."""
    loaded = load("root")
    names = DerivedNames(loaded.spec)
    docs = applied("root", tmp_path)["overlay staging"]
    by_kind = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert ("CronJob", names.monitor) in by_kind and ("Service", names.model) in by_kind
    assert any(kind == "ConfigMap" and name.startswith(f"{names.monitor_config}-")
               for kind, name in by_kind)


def test_a_private_repository_is_read_with_the_secret_the_readme_names() -> None:
    (source,) = parse(render(load("long-names"))[K8S / "flux" / "gitrepository.yaml"])
    assert source["spec"]["secretRef"] == {"name": "clv-git-https-credentials"}
    (ssh,) = parse(render(load("flux"))[K8S / "flux" / "gitrepository.yaml"])
    assert ssh["spec"]["secretRef"] == {"name": "fraud-score-git"}
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "<name>-git" in readme and "kubectl -n flux-system create secret" in readme


@pytest.mark.parametrize(("seconds", "text"), [(90, "90s"), (60, "1m"), (300, "5m"),
                                               (86400, "24h"), (3660, "61m"), (45, "45s")])
def test_pauses_are_go_durations(seconds: int, text: str) -> None:
    assert go_duration(seconds) == text and GO_DURATION.match(text)


def test_a_day_long_canary_pause_is_a_go_duration() -> None:
    (rollout,) = parse(render(load("long-names"))[
        K8S / "overlays" / "production-europe-west-primary-cluster-a" / "rollout.yaml"])
    assert rollout["spec"]["strategy"]["canary"]["steps"] == [
        {"setWeight": 20}, {"pause": {"duration": "24h"}}]


# --- the checkers themselves catch what they are for ------------------------------------------


def _staging(tmp_path: Path) -> list[Doc]:
    return applied("canary-argocd", tmp_path)["overlay production"]


@pytest.mark.parametrize(("kind", "mutate", "expected"), [
    ("Service", lambda d: d["metadata"].update(name="3d-model"), "DNS-1035 label"),
    ("CronJob", lambda d: d["metadata"].update(name="x" * 53), "at most 52 characters"),
    ("Deployment", lambda d: d["metadata"]["labels"].update(
        {"app.kubernetes.io/instance": "x" * 64}), "not a valid label value"),
    ("Deployment", lambda d: d["spec"]["template"]["spec"]["containers"][0]["ports"][0].update(
        name="http-server-port-x"), "IANA service name"),
    ("CronJob", lambda d: d["spec"]["jobTemplate"]["spec"]["template"]["spec"].update(
        serviceAccountName="nobody"), "ServiceAccount 'nobody' is not applied"),
])
def test_the_naming_checker_catches_broken_names(kind: str, mutate: Any, expected: str,
                                                 tmp_path: Path) -> None:
    docs = copy.deepcopy(_staging(tmp_path))
    mutate(next(d for d in docs if d["kind"] == kind))
    assert any(expected in problem for problem in naming_problems(docs))


@pytest.mark.parametrize(("kind", "mutate", "expected"), [
    ("Rollout", lambda s: s["strategy"]["canary"].update(steps=[]), "never analysed"),
    ("Rollout", lambda s: s["strategy"]["canary"]["steps"][1]["pause"].update(duration="1d"),
     "no Go duration"),
    ("Rollout", lambda s: s["workloadRef"].update(scaleDown="later"), "scaleDown"),
    ("Rollout", lambda s: s["strategy"]["canary"].update(stepz=[]), "unknown field"),
    ("AnalysisTemplate", lambda s: s["metrics"][0]["provider"]["prometheus"].pop("query") and
     s["metrics"][0].update(failureLimit=[1]), "matches none of"),
])
def test_the_crd_checker_catches_broken_fields(kind: str, mutate: Any, expected: str,
                                               tmp_path: Path) -> None:
    docs = copy.deepcopy(_staging(tmp_path))
    mutate(next(d for d in docs if d["kind"] == kind)["spec"])
    found = [p for d in docs if is_custom(d) for p in crd_problems(d, docs)]
    assert any(expected in problem for problem in found), found


def test_every_crd_fixture_names_its_source() -> None:
    assert {kind for _, kind in crds()} == {"Rollout", "AnalysisTemplate", "Application",
                                            "GitRepository", "Kustomization", "HTTPRoute",
                                            "VirtualService", "RayCronJob"}
    assert all(crd.source for crd in crds().values())


# --- validate refuses what would produce an invalid object -------------------------------------


def _refused(old: str, new: str) -> str:
    text = FIXTURE_SPEC.read_text()
    assert old in text
    with pytest.raises(SpecError) as raised:
        validate_text(text.replace(old, new), FIXTURE_SPEC, display="mlops.yaml")
    return str(raised.value)


ENVIRONMENT = "      autoscale: {min: 1, max: 3}\n"
DEPLOY = "  image: ghcr.io/acme/tiny\n"


@pytest.mark.parametrize(("old", "new", "message"), [
    ("name: tiny", "name: 3d-unet",
     "mlops.yaml:2:7: name: '3d-unet' names the model's Service, which Kubernetes requires to be a "
     "DNS-1035 label: at most 63 lowercase letters, digits and '-', starting with a letter and "
     "ending with a letter or digit; try 'm-3d-unet'"),
    (ENVIRONMENT, ENVIRONMENT + "    - name: production\n      namespace: ml-staging\n",
     "mlops.yaml:29:18: deploy.environments[1].namespace: environment 'staging' already deploys to "
     "namespace 'ml-staging'; the two would overwrite each other's objects (Deployment 'tiny', "
     "Service 'tiny', ...): give each environment its own namespace"),
    (ENVIRONMENT, ENVIRONMENT + "      rollout: {strategy: canary, steps: [100]}\n",
     "mlops.yaml:28:42: deploy.environments[0].rollout.steps: a canary needs a step below 100 to "
     "analyse (e.g. [10, 50, 100]); [100] moves all traffic at once with no analysis: use "
     "strategy: rolling for that"),
    (DEPLOY, DEPLOY + "  gitops: flux\n  repository: git@github.com:acme/tiny.git\n",
     "mlops.yaml:24:15: deploy.repository: Flux reads http://, https:// or ssh:// Git URLs, got "
     "'git@github.com:acme/tiny.git'; write it as 'ssh://git@github.com/acme/tiny.git'"),
    (DEPLOY, DEPLOY + "  gitops: argocd\n  repository: https://x.example/y.git\n"
                      "  repository_secret: y-git\n",
     "mlops.yaml:25:22: deploy.repository_secret: only Flux reads a credentials Secret from the "
     "spec; Argo CD finds credentials by the repository URL (register the repository in Argo CD, "
     "see README)"),
    (DEPLOY, DEPLOY + "  gitops: argocd\n  repository: https://x.example/y.git\n"
                      "  branch: release candidate\n",
     "mlops.yaml:25:11: deploy.branch: 'release candidate' is not a Git branch name (no spaces, "
     "'..', '~^:?*[\\', and no '/' or '.' at either end)"),
    ('  schedule: "0 * * * *"\n', '  schedule: "0 * * * *"\n  rule_labels: {team: "a b"}\n',
     "mlops.yaml:30:23: monitors.rule_labels.team: 'a b' is not a label value: at most 63 "
     "letters, digits, '-', '_' and '.', starting and ending with a letter or digit"),
    (DEPLOY, DEPLOY + "  gitops: flux\n  repository: https://x.example/y.git\n",
     None),
])
def test_validate_refuses_names_kubernetes_rejects(old: str, new: str, message: str | None) -> None:
    if message is None:
        text = FIXTURE_SPEC.read_text().replace(old, new)
        validate_text(text, FIXTURE_SPEC, display="mlops.yaml")
        return
    assert _refused(old, new) == message


@pytest.mark.parametrize(("name", "limit", "expected"), [
    ("short", 63, "short"),
    ("a" * 63, 63, "a" * 63),
])
def test_fit_leaves_names_that_fit(name: str, limit: int, expected: str) -> None:
    assert fit(name, limit) == expected


def test_fit_cuts_at_a_separator_without_a_trailing_dash() -> None:
    name = "x" * 53 + "-" + "y" * 20
    shortened = fit(name)
    assert len(shortened) <= 63 and "--" not in shortened and not shortened.startswith("-")


def test_names_yaml_would_read_as_other_types_stay_strings(tmp_path: Path) -> None:
    """'on', 'y', '0x1f' or '1e3' are valid Kubernetes names; written bare, YAML 1.1 (kustomize,
    the API server) reads them as a bool or a number."""
    text = FIXTURE_SPEC.read_text().replace("name: tiny", "name: 'on'").replace(
        "    - name: staging\n      namespace: ml-staging\n",
        "    - name: y\n      namespace: '0x1f'\n    - name: 'no'\n      namespace: '1e3'\n")
    loaded = validate_text(text, FIXTURE_SPEC, display="mlops.yaml")
    root = write_tree(render(loaded), tmp_path)
    for env, namespace in (("y", "0x1f"), ("no", "1e3")):
        docs = documents(kustomize(root / "k8s" / "overlays" / env))
        assert {doc["metadata"]["namespace"] for doc in docs} == {namespace}
        deployment = next(doc for doc in docs if doc["kind"] == "Deployment")
        assert deployment["metadata"]["name"] == "on"
        assert deployment["metadata"]["labels"]["app.kubernetes.io/instance"] == f"on-{env}"
        assert naming_problems(docs) == []
