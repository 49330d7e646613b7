"""Deploy rules that keep every generated object acceptable to the API server and controllers.

`semantic.py` runs `findings` with the other rules: a spec that validates compiles to names
Kubernetes accepts, environments that cannot overwrite each other, canaries that are analysed,
and GitOps sources Flux and Argo CD can read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from . import traffic_rules
from .kubernetes_names import (
    CRONJOB_NAME,
    DNS1035_LABEL,
    DNS1123_LABEL,
    DNS1123_SUBDOMAIN,
    KUSTOMIZE_HASH_SUFFIX,
    LABEL_VALUE,
    DerivedNames,
    NameRule,
    qualified_name_problem,
    suggestion,
)
from .models import Spec
from .types import cpu_millicores, memory_bytes
from .yaml_source import KeyPath

Finding = tuple[KeyPath, str]
_FLUX_URL = re.compile(r"^(http|https|ssh)://\S+$")
_SCP_LIKE = re.compile(r"^([\w.-]+@[\w.-]+):(?!//)(\S+)$")
_BAD_BRANCH = re.compile(r"(^[-/.]|[/.]$|\.\.|//|@\{|[\s~^:?*\[\\\x00-\x1f\x7f]|\.lock$|^@$)")


def findings(spec: Spec) -> Iterator[Finding]:
    yield from _names(spec)
    yield from _shared_namespaces(spec)
    yield from _canaries(spec)
    yield from _limits(spec)
    yield from _gitops(spec)
    yield from _rule_labels(spec)
    yield from traffic_rules.findings(spec)


def _names(spec: Spec) -> Iterator[Finding]:
    """Each spec value that names objects, against the rule of every object it names; the first
    broken rule is reported, with a name that would do."""
    names = DerivedNames(spec)
    hashed = "-" + "0" * (KUSTOMIZE_HASH_SUFFIX - 1)
    checks: list[tuple[KeyPath, str, str, NameRule, str]] = [
        (("name",), spec.name, names.model, DNS1035_LABEL, "the model's Service"),
        (("name",), spec.name, names.monitor, CRONJOB_NAME, "the monitor's CronJob"),
        (("name",), spec.name, names.model, LABEL_VALUE, "the app.kubernetes.io/name label"),
        (("name",), spec.name, names.monitor_config + hashed, DNS1123_SUBDOMAIN,
         "the monitor's ConfigMap"),
    ]
    for index, env in enumerate(spec.deploy.environments):
        checks.append((("deploy", "environments", index, "namespace"), env.namespace,
                       env.namespace, DNS1123_LABEL, "a Namespace"))
    if spec.serving.request_log is not None and spec.serving.request_log.claim is not None:
        claim = spec.serving.request_log.claim
        checks.append((("serving", "request_log", "claim"), claim, claim, DNS1123_SUBDOMAIN,
                       "a PersistentVolumeClaim"))
    if names.git_secret is not None and spec.deploy.repository_secret is not None:
        checks.append((("deploy", "repository_secret"), names.git_secret, names.git_secret,
                       DNS1123_SUBDOMAIN, "a Secret"))
    reported: set[KeyPath] = set()
    for path, value, derived, rule, what in checks:
        problem = rule.problem(derived)
        if problem is None or path in reported:
            continue
        reported.add(path)
        room = rule.max_length - (len(derived) - len(value))
        named = f"names {what} {derived!r}" if derived != value else f"names {what}"
        yield path, (f"{value!r} {named}, which Kubernetes requires to be {problem}; try "
                     f"{suggestion(value, rule, room)!r}")


def _shared_namespaces(spec: Spec) -> Iterator[Finding]:
    """Objects are named after the model, not the environment: two environments in one
    namespace would overwrite each other's Deployment, Service, CronJob, ..."""
    first: dict[str, str] = {}
    for index, env in enumerate(spec.deploy.environments):
        if env.namespace in first and first[env.namespace] != env.name:
            yield ("deploy", "environments", index, "namespace"), (
                f"environment '{first[env.namespace]}' already deploys to namespace "
                f"'{env.namespace}'; the two would overwrite each other's objects (Deployment "
                f"'{spec.name}', Service '{spec.name}', ...): give each environment its own "
                "namespace")
        first.setdefault(env.namespace, env.name)


def _canaries(spec: Spec) -> Iterator[Finding]:
    for index, env in enumerate(spec.deploy.environments):
        steps = env.rollout.steps
        if env.rollout.strategy == "canary" and steps and all(step >= 100 for step in steps):
            yield ("deploy", "environments", index, "rollout", "steps"), (
                f"a canary needs a step below 100 to analyse (e.g. [10, 50, 100]); {steps} moves "
                "all traffic at once with no analysis: use strategy: rolling for that")


def _limits(spec: Spec) -> Iterator[Finding]:
    """The API server refuses a container whose request is above its limit."""
    for index, env in enumerate(spec.deploy.environments):
        resources = env.resources
        pairs = (("cpu", resources.cpu, resources.cpu_limit, cpu_millicores),
                 ("memory", resources.memory, resources.memory_limit, memory_bytes))
        for name, request, limit, size in pairs:
            if limit is not None and size(limit) < size(request):
                yield ("deploy", "environments", index, "resources", f"{name}_limit"), (
                    f"{name}_limit {limit} is below the {name} request {request}; Kubernetes "
                    "requires a request no larger than its limit")


def _gitops(spec: Spec) -> Iterator[Finding]:
    deploy = spec.deploy
    url = deploy.repository
    if deploy.gitops == "flux" and url is not None and not _FLUX_URL.match(url):
        scp = _SCP_LIKE.match(url)
        hint = (f"; write it as 'ssh://{scp.group(1)}/{scp.group(2)}'" if scp
                else "")
        yield ("deploy", "repository"), (f"Flux reads http://, https:// or ssh:// Git URLs, got "
                                         f"{url!r}{hint}")
    elif url is not None and re.search(r"\s", url):
        yield ("deploy", "repository"), f"a Git URL has no spaces, got {url!r}"
    if deploy.repository_secret is not None and deploy.gitops != "flux":
        yield ("deploy", "repository_secret"), (
            "only Flux reads a credentials Secret from the spec; Argo CD finds credentials by the "
            "repository URL (register the repository in Argo CD, see README)")
    for index, env in enumerate(deploy.environments):
        if deploy.gitops == "flux" and env.name == "gitrepository":
            yield ("deploy", "environments", index, "name"), (
                "an environment named 'gitrepository' would overwrite the Flux GitRepository "
                "(generated/k8s/flux/gitrepository.yaml); choose another name")
    if deploy.gitops != "none" and _BAD_BRANCH.search(deploy.branch):
        yield ("deploy", "branch"), (f"{deploy.branch!r} is not a Git branch name (no spaces, "
                                     "'..', '~^:?*[\\', and no '/' or '.' at either end)")


def _rule_labels(spec: Spec) -> Iterator[Finding]:
    for key, value in spec.monitors.rule_labels.items():
        path = ("monitors", "rule_labels", key)
        if (problem := qualified_name_problem(key)) is not None:
            yield path, f"{key!r} is not a Kubernetes label key: {problem}"
        elif (problem := LABEL_VALUE.problem(value)) is not None:
            yield path, f"{value!r} is not {problem}"
