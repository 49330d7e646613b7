"""Argo Rollouts, Argo CD and Flux objects, checked the way their API server and controllers would.

kubernetes-validate only warns on custom resources. Here each object is checked against its CRD's
`openAPIV3Schema` (the fields we emit, recorded in tests/fixtures/crds/ with their source), by a
small validator that refuses unknown fields (an API server would silently prune them), and then
against the rules the controllers enforce in code rather than in the schema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tests.compiler import k8s_routes

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "crds"
GO_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")
SCALE_DOWN = {"never", "onsuccess", "progressively"}
RAY_SUBMISSION_MODES = ("K8sJobMode", "HTTPMode", "InteractiveMode")
INT32 = 2**31 - 1
Doc = dict[str, Any]


@dataclass(frozen=True)
class Crd:
    api_version: str
    kind: str
    schema: dict[str, Any]
    source: str


@cache
def crds() -> dict[tuple[str, str], Crd]:
    found = {}
    for path in sorted(FIXTURES.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        crd = Crd(data["apiVersion"], data["kind"], data["schema"], data["source"])
        found[(crd.api_version, crd.kind)] = crd
    return found


def is_custom(doc: Doc) -> bool:
    return (doc.get("apiVersion"), doc.get("kind")) in crds()


def problems(doc: Doc, docs: list[Doc]) -> list[str]:
    """Every schema and controller problem of one custom resource (`docs`: what it is applied
    with, for references)."""
    crd = crds()[(doc["apiVersion"], doc["kind"])]
    name = f"{doc['kind']} {doc.get('metadata', {}).get('name')}"
    found = [f"{name}: {problem}" for problem in schema_problems(doc, crd.schema, "")]
    return found + [f"{name}: {problem}" for problem in controller_problems(doc, docs)]


def schema_problems(value: Any, schema: dict[str, Any], path: str) -> Iterator[str]:
    """The OpenAPI v3 subset CRDs use: type, properties, additionalProperties, required, items,
    enum, pattern, anyOf (int-or-string) and the int32/int64 formats."""
    where = path or "(root)"
    if "anyOf" in schema:
        if not any(not list(schema_problems(value, option, path)) for option in schema["anyOf"]):
            yield f"{where}: {value!r} matches none of {schema['anyOf']}"
        return
    kind = schema.get("type")
    checks = {"object": dict, "array": list, "string": str, "boolean": bool}
    if kind == "number" and (not isinstance(value, (int, float)) or isinstance(value, bool)):
        yield f"{where}: expected a number, got {value!r}"
        return
    if kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            yield f"{where}: expected an integer, got {value!r}"
            return
        if schema.get("format") == "int32" and not -INT32 - 1 <= value <= INT32:
            yield f"{where}: {value} does not fit int32"
    elif kind in checks and not isinstance(value, checks[kind]):
        yield f"{where}: expected {kind}, got {value!r}"
        return
    if "enum" in schema and value not in schema["enum"]:
        yield f"{where}: {value!r} is not one of {schema['enum']}"
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        yield f"{where}: {value!r} does not match {schema['pattern']}"
    yield from _bound_problems(value, schema, where)
    if isinstance(value, dict):
        yield from _object_problems(value, schema, path)
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            yield from schema_problems(item, schema["items"], f"{path}[{index}]")


def _bound_problems(value: Any, schema: dict[str, Any], where: str) -> Iterator[str]:
    """minimum/maximum, minLength/maxLength and maxItems (Gateway API's CRDs bound most fields)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            yield f"{where}: {value} is below the minimum {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            yield f"{where}: {value} is above the maximum {schema['maximum']}"
    if isinstance(value, str) and not schema.get("minLength", 0) <= len(value) <= schema.get(
            "maxLength", len(value)):
        yield f"{where}: {value!r} has a length outside the CRD's bounds"
    if isinstance(value, list) and len(value) > schema.get("maxItems", len(value)):
        yield f"{where}: more than {schema['maxItems']} items"


def _object_problems(value: dict[str, Any], schema: dict[str, Any], path: str) -> Iterator[str]:
    properties = schema.get("properties", {})
    for key in schema.get("required", []):
        if key not in value:
            yield f"{path}.{key}: required" if path else f"{key}: required"
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        child = f"{path}.{key}" if path else key
        if key in properties:
            yield from schema_problems(item, properties[key], child)
        elif extra is False:
            yield f"{child}: unknown field (the CRD has no such field)"
        elif isinstance(extra, dict):
            yield from schema_problems(item, extra, child)


def controller_problems(doc: Doc, docs: list[Doc]) -> Iterator[str]:
    spec = doc.get("spec", {})
    if doc["kind"] == "Rollout":
        yield from _rollout(spec, docs)
        yield from k8s_routes.problems(doc, docs)
    elif doc["kind"] == "AnalysisTemplate":
        names = [metric["name"] for metric in spec["metrics"]]
        if len(set(names)) != len(names):
            yield f"metric names repeat: {names}"
        for metric in spec["metrics"]:
            if not GO_DURATION.match(str(metric.get("interval", "1m"))):
                yield f"metric {metric['name']}: interval {metric['interval']!r} is no Go duration"
            job = metric["provider"].get("job")
            if job is not None and job["spec"].get("backoffLimit", 6) != 0:
                yield f"metric {metric['name']}: a retried Job (backoffLimit) can pass a failed run"
    elif doc["kind"] == "RayCronJob":
        yield from _ray_cron_job(doc)
    elif doc["kind"] == "Application":
        if len(doc["metadata"]["name"]) > 63:
            yield "the name is longer than 63 characters (Argo CD tracks resources by a label)"
        if "source" not in spec and "sources" not in spec:
            yield "neither spec.source nor spec.sources"
        destination = spec["destination"]
        if ("server" in destination) == ("name" in destination):
            yield "spec.destination needs exactly one of server and name"
    elif doc["kind"] == "GitRepository":
        if spec["url"].startswith("ssh://") and "secretRef" not in spec:
            yield "an ssh:// repository needs spec.secretRef (an identity) to authenticate"
    elif doc["kind"] == "Kustomization":
        if len(doc["metadata"]["name"]) > 63:
            yield "the name is longer than 63 characters (Flux labels what it applies with it)"
        ref = spec["sourceRef"]
        namespace = ref.get("namespace", doc["metadata"].get("namespace"))
        if not any(other["kind"] == ref["kind"] and other["metadata"]["name"] == ref["name"]
                   and other["metadata"].get("namespace") == namespace for other in docs):
            yield f"sourceRef {ref} names no object applied with it"
        for dependency in spec.get("dependsOn", []):
            if not any(other["kind"] == "Kustomization"
                       and other["metadata"]["name"] == dependency["name"] for other in docs):
                yield f"dependsOn {dependency} names no Kustomization applied with it"


def _rollout(spec: Doc, docs: list[Doc]) -> Iterator[str]:
    """Argo Rollouts' validation (pkg/apis/rollouts/validation): weights, pauses, the analysis."""
    ref = spec.get("workloadRef")
    if ref is not None and ref.get("scaleDown", "never") not in SCALE_DOWN:
        yield f"workloadRef.scaleDown {ref['scaleDown']!r} is not one of {sorted(SCALE_DOWN)}"
    canary = spec["strategy"]["canary"]
    steps = canary.get("steps", [])
    for index, step in enumerate(steps):
        weight = step.get("setWeight")
        if weight is not None and not 0 <= weight <= 100:
            yield f"steps[{index}].setWeight {weight} is outside 0-100"
        duration = step.get("pause", {}).get("duration")
        if isinstance(duration, str) and not GO_DURATION.match(duration):
            yield f"steps[{index}].pause.duration {duration!r} is no Go duration"
    analysis = canary.get("analysis")
    if analysis is None:
        yield "a canary without analysis is never checked"
        return
    start = analysis.get("startingStep", 0)
    if start >= len(steps):
        yield f"analysis.startingStep {start} is past the last of {len(steps)} steps: never analysed"
    elif not any("pause" in step for step in steps[start:]):
        yield "no pause after analysis.startingStep: the canary is never observed"
    service = canary.get("canaryService")
    if service is not None and not any(other["kind"] == "Service"
                                       and other["metadata"]["name"] == service for other in docs):
        yield f"canaryService {service!r} names no Service applied with the Rollout"
    templates = {other["metadata"]["name"] for other in docs if other["kind"] == "AnalysisTemplate"}
    for template in analysis.get("templates", []):
        if template["templateName"] not in templates:
            yield f"analysis template {template['templateName']!r} is not applied with the Rollout"


def _ray_cron_job(doc: Doc) -> Iterator[str]:
    """KubeRay's RayCronJob and RayJob validation (ray-operator/controllers/ray/utils
    validation.go, raycronjob_controller.go): the RayJob it creates is named
    `rayjob-<name>-<minutes since the epoch>` and may have at most 47 characters."""
    name = doc["metadata"]["name"]
    if len(f"rayjob-{name}-12345678") > 47:
        yield f"the RayJobs it creates (rayjob-{name}-<8 digits>) would pass 47 characters"
    if len(doc["spec"]["schedule"].split()) != 5:
        yield f"schedule {doc['spec']['schedule']!r} is not five cron fields"
    job = doc["spec"]["jobTemplate"]
    if job.get("submissionMode", "K8sJobMode") not in RAY_SUBMISSION_MODES:
        yield f"submissionMode {job['submissionMode']!r} is not one of {RAY_SUBMISSION_MODES}"
    if "ttlSecondsAfterFinished" in job and not job.get("shutdownAfterJobFinishes"):
        yield "ttlSecondsAfterFinished without shutdownAfterJobFinishes deletes nothing"
    for group in job["rayClusterSpec"].get("workerGroupSpecs", []):
        low, high = group["minReplicas"], group["maxReplicas"]
        if not low <= group.get("replicas", low) <= high:
            yield f"worker group {group['groupName']}: replicas outside [{low}, {high}]"
