"""The API server's naming and reference rules, applied to rendered objects.

Written from apimachinery's validation (pkg/util/validation) and the core/batch/apps validators,
independently of `mlops.spec.kubernetes_names` which the compiler uses, so a wrong rule there
cannot hide a wrong name here. `problems(docs)` returns one sentence per broken rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

Doc = dict[str, Any]
LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
PORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
# Custom resources whose name a controller copies into a label value (Argo CD before 3.0, Flux).
NAME_IS_LABEL = {"Application", "Kustomization"}


def is_subdomain(name: str) -> bool:
    return len(name) <= 253 and bool(SUBDOMAIN.match(name))


def is_label(name: str, pattern: re.Pattern[str] = LABEL) -> bool:
    return len(name) <= 63 and bool(pattern.match(name))


def is_qualified_name(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    return (not prefix or is_subdomain(prefix)) and len(name) <= 63 and bool(
        QUALIFIED_NAME.match(name))


def problems(docs: list[Doc]) -> list[str]:
    return list(_problems(docs))


def _problems(docs: list[Doc]) -> Iterator[str]:
    for doc in docs:
        kind, meta = doc["kind"], doc["metadata"]
        what = f"{kind} {meta['name']!r}"
        yield from _name(kind, meta["name"], what)
        if "namespace" in meta and not is_label(meta["namespace"]):
            yield f"{what}: namespace {meta['namespace']!r} is not a DNS-1123 label"
        yield from _metadata(meta, what)
        spec = doc.get("spec", {})
        for pod, where in _pods(doc):
            yield from _pod(pod, f"{what} {where}", docs)
        for selector in _selectors(spec):
            yield from _labels(selector, f"{what} selector")
        if kind == "ConfigMap":
            for key in doc.get("data", {}):
                if not CONFIG_KEY.match(key) or len(key) > 253:
                    yield f"{what}: data key {key!r} is not a valid ConfigMap key"
        if kind == "Service":
            for port in spec.get("ports", []):
                if "name" in port and not _port_name(port["name"]):
                    yield f"{what}: port name {port['name']!r} is not an IANA service name"


def _name(kind: str, name: str, what: str) -> Iterator[str]:
    if kind == "Service" and not is_label(name, DNS1035):
        yield f"{what}: a Service name must be a DNS-1035 label"
    elif kind == "Namespace" and not is_label(name):
        yield f"{what}: a Namespace name must be a DNS-1123 label"
    elif kind == "CronJob" and (len(name) > 52 or not is_subdomain(name)):
        yield f"{what}: a CronJob name must be a DNS-1123 subdomain of at most 52 characters"
    elif not is_subdomain(name):
        yield f"{what}: the name must be a DNS-1123 subdomain"
    if kind in NAME_IS_LABEL and len(name) > 63:
        yield f"{what}: its controller copies the name into a label, so it must fit 63 characters"


def _metadata(meta: Doc, what: str) -> Iterator[str]:
    yield from _labels(meta.get("labels", {}), what)
    for key in meta.get("annotations", {}):
        if not is_qualified_name(key):
            yield f"{what}: annotation key {key!r} is not a qualified name"


def _labels(labels: dict[str, str], what: str) -> Iterator[str]:
    for key, value in labels.items():
        if not is_qualified_name(key):
            yield f"{what}: label key {key!r} is not a qualified name"
        if not isinstance(value, str) or not is_label(value, LABEL_VALUE):
            yield f"{what}: label {key}={value!r} is not a valid label value"


def _selectors(spec: Doc) -> Iterator[dict[str, str]]:
    for holder in (spec.get("selector"), spec.get("podSelector")):
        if isinstance(holder, dict):  # a Service's selector is the label map itself
            yield holder.get("matchLabels", holder)


def _pods(doc: Doc) -> Iterator[tuple[Doc, str]]:
    spec = doc.get("spec", {})
    if "template" in spec:
        yield spec["template"], "pod template"
    job = spec.get("jobTemplate")
    if job is not None:
        yield job["spec"]["template"], "job pod template"


def _port_name(name: str) -> bool:
    return len(name) <= 15 and bool(PORT_NAME.match(name)) and "--" not in name and any(
        char.isalpha() for char in name)


def _pod(template: Doc, what: str, docs: list[Doc]) -> Iterator[str]:
    yield from _metadata(template.get("metadata", {}), what)
    pod = template["spec"]
    volumes = {volume["name"] for volume in pod.get("volumes", [])}
    for volume in pod.get("volumes", []):
        if not is_label(volume["name"]):
            yield f"{what}: volume name {volume['name']!r} is not a DNS-1123 label"
        claim = volume.get("persistentVolumeClaim", {}).get("claimName")
        if claim is not None and not is_subdomain(claim):
            yield f"{what}: claim {claim!r} is not a DNS-1123 subdomain"
        config = volume.get("configMap", {}).get("name")
        if config is not None and not _exists(docs, "ConfigMap", config):
            yield f"{what}: volume {volume['name']!r} names ConfigMap {config!r}, which is not applied"
    account = pod.get("serviceAccountName")
    if account is not None and not _exists(docs, "ServiceAccount", account):
        yield f"{what}: ServiceAccount {account!r} is not applied"
    for container in pod["containers"]:
        name = container["name"]
        if not is_label(name):
            yield f"{what}: container name {name!r} is not a DNS-1123 label"
        for port in container.get("ports", []):
            if "name" in port and not _port_name(port["name"]):
                yield f"{what}: port name {port['name']!r} is not an IANA service name"
        for mount in container.get("volumeMounts", []):
            if mount["name"] not in volumes:
                yield f"{what}: container {name} mounts undefined volume {mount['name']!r}"
        for source in container.get("envFrom", []):
            ref = source.get("configMapRef", {}).get("name")
            if ref is not None and not _exists(docs, "ConfigMap", ref):
                yield f"{what}: envFrom names ConfigMap {ref!r}, which is not applied"
        for variable in container.get("env", []):
            if not ENV_NAME.match(variable["name"]):
                yield f"{what}: env name {variable['name']!r} is not valid"
        resources = container.get("resources", {})
        for resource, request in resources.get("requests", {}).items():
            limit = resources.get("limits", {}).get(resource)
            if limit is not None and quantity(str(request)) > quantity(str(limit)):
                yield f"{what}: container {name} requests {resource} {request} above its limit {limit}"


_SUFFIXES = {"": 1, "m": Fraction(1, 1000), "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
             "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def quantity(text: str) -> Fraction:
    """A Kubernetes resource quantity ('250m', '1.5', '512Mi', '1G') as an exact number."""
    match = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", text)
    assert match and match.group(2) in _SUFFIXES, f"not a quantity: {text!r}"
    return Fraction(match.group(1)) * _SUFFIXES[match.group(2)]


def _exists(docs: list[Doc], kind: str, name: str) -> bool:
    return any(doc["kind"] == kind and doc["metadata"]["name"] == name for doc in docs)
