"""Hypothesis strategies for valid specs across the whole schema.

Names are drawn at their limits as well as short (a 40-character model, environments and
namespaces), every optional section is sometimes present, and there are one to four environments,
each rolling or canary, fixed size or autoscaled, under Argo CD, Flux or no GitOps. Specs are
valid by construction: the property test asserts that `validate` accepts each one.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from mlops.spec.types import cpu_millicores, memory_bytes

SLUG_LIMIT = 40
_CRON = ["0 * * * *", "*/5 * * * *", "*/30 * * * *", "15 3 * * *", "0 6 * * MON-FRI",
         "0 9-17/2 * * 1-5", "30 4 1 * *", "0 0 1,15 * *", "0 0 * JAN,JUL SUN", "5/15 * * * *",
         "0 12 * * SAT", "0 0 29 2 *", "45 23 * DEC 0-6"]
_QUANTITIES = {"cpu": ["100m", "250m", "500m", "1", "2", "1.5"],
               "memory": ["128Mi", "256Mi", "512Mi", "1Gi", "2Gi", "1500M"]}


def _slug(first: str, *, min_size: int = 1) -> st.SearchStrategy[str]:
    """Lowercase letters, digits and '-', 1-40 long, often exactly 40 (the limit)."""
    inner = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", max_size=SLUG_LIMIT - 2)
    last = st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789")
    drawn = st.one_of(
        st.sampled_from(first),
        st.tuples(st.sampled_from(first), inner, last).map("".join),
        st.tuples(st.sampled_from(first), st.text("abcdefghij-0123", min_size=38, max_size=38),
                  last).map("".join),
    )
    return drawn.filter(lambda s: len(s) >= min_size and len(s) <= SLUG_LIMIT)


model_names = _slug("abcdefghijklmnopqrstuvwxyz")
slugs = _slug("abcdefghijklmnopqrstuvwxyz0123456789")


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    task = draw(st.sampled_from(["binary_classification", "multiclass_classification",
                                 "regression"]))
    features = draw(st.lists(st.from_regex(r"\A[a-z][a-z0-9_]{0,11}\Z"), min_size=1, max_size=4,
                             unique=True).filter(lambda f: "target" not in f))
    spec: dict[str, Any] = {
        "version": 1,
        "name": draw(model_names),
        "data": _data(draw, task, features),
        "model": {"task": task, "artifact": "models/model.onnx", "train": "python train.py"},
        "metrics": _metrics(draw, task),
        "deploy": _deploy(draw),
        "monitors": _monitors(draw, task),
    }
    if draw(st.booleans()):
        sizes = draw(st.lists(st.sampled_from([1, 8, 64]), min_size=1, max_size=3, unique=True))
        spec["benchmark"] = {"batch_sizes": sizes,
                             "thresholds": {f"p95_ms@{sizes[0]}": "< 50"}}
    if draw(st.booleans()):
        users = draw(st.integers(1, 50))
        spec["load"] = {"users": users, "spawn_rate": draw(st.integers(1, users)),
                        "duration": draw(st.sampled_from(["10s", "1m"])),
                        "thresholds": draw(st.fixed_dictionaries({}, optional={
                            "p95_ms": st.sampled_from(["< 80", "<= 200"]),
                            "error_rate": st.sampled_from(["< 0.01", "<= 0.05"]),
                            "rps": st.just("> 10")}))}
    spec["serving"] = _serving(draw)
    if draw(st.booleans()):
        spec["ci"] = {"python": draw(st.sampled_from(["3.11", "3.12"])),
                      "runs_on": draw(st.sampled_from(["ubuntu-24.04", "ubuntu-latest"])),
                      "pr_comment": draw(st.booleans())}
    if draw(st.booleans()):
        spec["checks"] = {"path": "checks"}
    return spec


def _data(draw: st.DrawFn, task: str, features: list[str]) -> dict[str, Any]:
    schema: dict[str, Any] = {}
    for feature in features:
        dtype = draw(st.sampled_from(["float", "int"]))
        column: dict[str, Any] = {"dtype": dtype}
        if draw(st.booleans()):
            column.update(min=0, max=draw(st.integers(1, 1000)))
        schema[feature] = column
    if task == "regression":
        schema["target"] = {"dtype": "float"}
    else:
        classes = [0, 1] if task == "binary_classification" else [0, 1, 2]
        schema["target"] = {"dtype": "int", "allowed": classes}
    return {"train": "data/train.csv", "test": "data/test.csv", "target": "target",
            "schema": schema}


def _metrics(draw: st.DrawFn, task: str) -> dict[str, Any]:
    names = {"binary_classification": ["accuracy", "f1", "roc_auc"],
             "multiclass_classification": ["accuracy", "f1_macro"],
             "regression": ["rmse", "r2"]}[task]
    chosen = draw(st.lists(st.sampled_from(names), min_size=0, max_size=2, unique=True))
    return {name: ("< 5" if name == "rmse" else ">= 0.5") for name in chosen}


def _serving(draw: st.DrawFn) -> dict[str, Any]:
    serving: dict[str, Any] = {"port": draw(st.sampled_from([1024, 8000, 8080, 65535])),
                               "workers": draw(st.integers(1, 4))}
    if draw(st.booleans()):
        log: dict[str, Any] = {"sample_rate": 0.5}
        if draw(st.booleans()):
            log["claim"] = draw(slugs)
        serving["request_log"] = log
    return serving


def _resources(draw: st.DrawFn) -> dict[str, Any]:
    """Requests, and sometimes limits at or above them (validate refuses a limit below)."""
    resources: dict[str, Any] = {}
    for name, size in (("cpu", cpu_millicores), ("memory", memory_bytes)):
        choices = sorted(_QUANTITIES[name], key=size)
        request = draw(st.integers(0, len(choices) - 1))
        resources[name] = choices[request]
        if draw(st.booleans()):
            resources[f"{name}_limit"] = draw(st.sampled_from(choices[request:]))
    return resources


def _rollout(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        return {"strategy": "rolling"}
    below = draw(st.lists(st.integers(1, 99), min_size=1, max_size=4, unique=True))
    return {"strategy": "canary", "steps": [*sorted(below), 100],
            "pause": draw(st.sampled_from(["1s", "45s", "90s", "5m", "1h", "1d", "2d"]))}


def _deploy(draw: st.DrawFn) -> dict[str, Any]:
    # 'gitrepository' would overwrite Flux's GitRepository file (validate refuses it).
    names = draw(st.lists(slugs.filter(lambda s: s != "gitrepository"), min_size=1, max_size=4,
                          unique=True))
    namespaces = draw(st.lists(slugs, min_size=len(names), max_size=len(names), unique=True))
    environments = []
    for name, namespace in zip(names, namespaces, strict=True):
        env: dict[str, Any] = {"name": name, "namespace": namespace,
                               "replicas": draw(st.integers(1, 10)),
                               "resources": _resources(draw), "rollout": _rollout(draw),
                               "approval": draw(st.sampled_from(["none", "required"]))}
        if draw(st.booleans()):
            low = draw(st.integers(1, 5))
            env["autoscale"] = {"min": low, "max": draw(st.integers(low, 20)),
                                "cpu_percent": draw(st.integers(1, 100))}
        environments.append(env)
    deploy: dict[str, Any] = {"image": draw(st.sampled_from(
        ["ghcr.io/acme/model", "registry.example.com:5000/team/model-server", "acme/model"])),
        "environments": environments}
    gitops = draw(st.sampled_from(["none", "argocd", "flux"]))
    if gitops != "none":
        deploy["gitops"] = gitops
        deploy["repository"] = draw(st.sampled_from(
            ["https://github.com/acme/models.git", "ssh://git@github.com/acme/models.git"]))
        deploy["branch"] = draw(st.sampled_from(["main", "release/v1", "deploy"]))
        if gitops == "flux" and draw(st.booleans()):
            deploy["repository_secret"] = draw(slugs)
    return deploy


def _monitors(draw: st.DrawFn, task: str) -> dict[str, Any]:
    monitors: dict[str, Any] = {"schedule": draw(st.sampled_from(_CRON)),
                                "window": draw(st.sampled_from(["30m", "1h", "1d"]))}
    if draw(st.booleans()):
        monitors["drift"] = None
    if draw(st.booleans()):
        monitors["latency"] = {"p95_ms": draw(st.sampled_from([25, 120.5, 1000])), "for": "5m"}
    if draw(st.booleans()):
        monitors["error_rate"] = {"max": draw(st.sampled_from([0.0, 0.01, 0.5, 1.0]))}
    if draw(st.booleans()):
        metric = {"binary_classification": "f1", "multiclass_classification": "f1_macro",
                  "regression": "rmse"}[task]
        monitors["performance"] = {"metric": metric, "min": 0.5, "labels": "data/feedback.csv"}
    if draw(st.booleans()):
        monitors["pushgateway"] = draw(st.sampled_from(
            ["http://pushgateway.monitoring.svc:9091", "https://push.example.com"]))
    monitors["on_alert"] = draw(st.sampled_from([["open_issue"], ["retrain"],
                                                 ["open_issue", "retrain"], []]))
    if draw(st.booleans()):
        monitors["rule_labels"] = draw(st.dictionaries(
            st.sampled_from(["prometheus", "release", "team.example.com/owner", "role"]),
            st.from_regex(r"\A[A-Za-z0-9]([-A-Za-z0-9_.]{0,20}[A-Za-z0-9])?\Z"), max_size=3))
    return monitors
