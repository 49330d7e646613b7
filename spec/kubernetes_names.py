"""Kubernetes' naming rules, and every name the compiler derives from a spec, in one place.

The API server rejects an object whose name, namespace, label or annotation breaks apimachinery's
rules (`IsDNS1123Label`, `IsDNS1123Subdomain`, `IsDNS1035Label`, `IsValidLabelValue`,
`IsQualifiedName`, the 52-character CronJob limit); offline schema validation does not check
them. The Kubernetes target takes its names from `DerivedNames`, and `kubernetes_rules.py` checks
the same names where the spec is written.

A name the compiler composes from two spec values (model and environment) is shortened when it
would pass 63 characters, the way Helm and kustomize do it: cut, then a hash of the full name,
so it stays unique and the same on every compile.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from .models import Environment, Spec

LABEL_MAX = 63
"""Longest label value, DNS label, and name a controller copies into a label."""
CRONJOB_NAME_MAX = 52
"""A CronJob's Jobs are named `<cronjob>-<11 digits>`, and a Job name must fit a 63-char label."""
KUSTOMIZE_HASH_SUFFIX = 11
"""`-` and the 10-character content hash kustomize appends to generated ConfigMap names."""
_HASH_CHARS = 8


@dataclass(frozen=True)
class NameRule:
    """One of apimachinery's validation rules for a name or label value."""

    name: str
    pattern: re.Pattern[str]
    max_length: int
    words: str

    def problem(self, value: str) -> str | None:
        """Why `value` breaks the rule, or None."""
        if not self.pattern.match(value) or len(value) > self.max_length:
            return f"a {self.name}: {self.words}"
        return None


_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL = NameRule(
    "DNS-1123 label", re.compile(rf"^{_LABEL}$"), 63,
    "at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit")
DNS1123_SUBDOMAIN = NameRule(
    "DNS-1123 subdomain", re.compile(rf"^{_LABEL}(\.{_LABEL})*$"), 253,
    "at most 253 characters of dot-separated DNS labels (lowercase letters, digits and '-')")
DNS1035_LABEL = NameRule(
    "DNS-1035 label", re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$"), 63,
    "at most 63 lowercase letters, digits and '-', starting with a letter and ending with a "
    "letter or digit")
CRONJOB_NAME = NameRule(
    "CronJob name", DNS1123_SUBDOMAIN.pattern, CRONJOB_NAME_MAX,
    "a DNS-1123 subdomain of at most 52 characters (its Jobs add 11)")
LABEL_VALUE = NameRule(
    "label value", re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"), LABEL_MAX,
    "at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit")
_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


def qualified_name_problem(key: str) -> str | None:
    """Why `key` is not a label or annotation key ('[prefix/]name'), or None."""
    prefix, _, name = key.rpartition("/")
    if prefix and DNS1123_SUBDOMAIN.problem(prefix):
        return f"the prefix {prefix!r} must be {DNS1123_SUBDOMAIN.problem(prefix)}"
    if not _NAME_PART.match(name) or len(name) > LABEL_MAX:
        return ("a label key is an optional DNS subdomain prefix and '/', then at most 63 "
                "letters, digits, '-', '_' and '.', starting and ending with a letter or digit")
    return None


def fit(name: str, limit: int = LABEL_MAX) -> str:
    """`name`, or when longer than `limit`: its first characters, '-' and a hash of all of it."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:_HASH_CHARS]
    return f"{name[:limit - _HASH_CHARS - 1].rstrip('-.')}-{digest}"


def suggestion(value: str, rule: NameRule, room: int) -> str:
    """A name close to `value` that satisfies `rule` and fits in `room` characters."""
    text = re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-") or "model"
    if rule is DNS1035_LABEL and not text[0].isalpha():
        text = f"m-{text}"
    return text[:room].rstrip("-")


@dataclass(frozen=True)
class DerivedNames:
    """The names of the objects the Kubernetes target writes for one spec."""

    spec: Spec

    @property
    def model(self) -> str:
        """ServiceAccount, Deployment, Service, PDB, NetworkPolicy, HPA, Rollout, GitRepository."""
        return self.spec.name

    @property
    def monitor(self) -> str:
        """The monitor's CronJob and NetworkPolicy."""
        return f"{self.spec.name}-monitor"

    @property
    def monitor_config(self) -> str:
        return f"{self.spec.name}-monitor-config"

    @property
    def canary_service(self) -> str:
        """The Service Argo Rollouts points at the canary's pods (`canaryService`)."""
        return fit(f"{self.spec.name}-canary")

    @property
    def challenger(self) -> str:
        """The challenger's Deployment, Service and NetworkPolicy (`serving.challenger`)."""
        return fit(f"{self.spec.name}-challenger")

    @property
    def git_secret(self) -> str | None:
        """Secret with the Git credentials Flux's GitRepository reads, when one is needed."""
        deploy = self.spec.deploy
        if deploy.gitops != "flux" or deploy.repository is None:
            return None
        if deploy.repository_secret is not None:
            return deploy.repository_secret
        return f"{self.spec.name}-git" if deploy.repository.startswith("ssh://") else None

    def environment(self, env: Environment) -> str:
        """`<model>-<environment>`: the `app.kubernetes.io/instance` label, the Argo CD
        Application and the Flux Kustomization (both become labels on what they apply)."""
        return fit(f"{self.spec.name}-{env.name}")

    @property
    def load(self) -> str:
        """The in-cluster load test's ConfigMap (locustfile, locust.conf, rows)."""
        return fit(f"{self.spec.name}-load")

    @property
    def load_master(self) -> str:
        """The Locust master's Job, headless Service and NetworkPolicy; a Job name becomes the
        `job-name` label of its pods, so it fits a label value."""
        return fit(f"{self.spec.name}-load-master")

    @property
    def load_worker(self) -> str:
        """The Locust workers' Job and NetworkPolicy."""
        return fit(f"{self.spec.name}-load-worker")

    def load_environment(self, env: Environment) -> str:
        """The Flux Kustomization that runs an environment's load test after it is applied."""
        return fit(f"{self.spec.name}-{env.name}-load")
