"""The catalogue (`mlops.core.catalogue`) and everything derived from it agree: the spec's enums and
threshold fields, the JSON Schema and the reference, the metric functions, the drift statistics,
the benchmark and load-test statistics the gates and the generated locustfile measure."""

from __future__ import annotations

import ast
import math
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pytest

from mlops.core import catalogue as c
from mlops.harness.bench.gate import Timing
from mlops.harness.load.locust import LoadStats
from mlops.harness.model import metrics as m
from mlops.harness.stats import score_categories, score_numeric
from mlops.spec import models
from mlops.spec.reference import reference_markdown
from mlops.spec.schema import json_schema
from mlops.spec.semantic import metric_fits_task, parse_bench_key

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json_schema()


def definition(name: str) -> dict[str, Any]:
    found: dict[str, Any] = SCHEMA["$defs"][name]
    return found


def test_each_table_names_every_item_once_in_its_literal_order() -> None:
    assert tuple(metric.name for metric in c.METRICS) == c.METRIC_NAMES == get_args(c.MetricName)
    assert tuple(drift.name for drift in c.DRIFT_METHODS) == get_args(c.DriftMethod)
    for names in (c.METRIC_NAMES, c.BENCH_STAT_NAMES, c.LOAD_STAT_NAMES, c.DRIFT_LABELS):
        assert len(set(names)) == len(names)
    assert c.CLASSIFICATION_METRICS + c.REGRESSION_METRICS == c.METRIC_NAMES


def test_the_spec_models_take_their_names_from_the_catalogue() -> None:
    metric_fields = [name for name in models.Metrics.model_fields if name in c.METRIC_NAMES]
    assert tuple(metric_fields) == c.METRIC_NAMES
    assert list(models.Metrics.model_fields)[:len(c.METRIC_NAMES)] == metric_fields
    assert tuple(models.LoadThresholds.model_fields) == c.LOAD_STAT_NAMES
    for section, key in (("Slice", "metric"), ("GroupGap", "metric"),
                         ("MonitorPerformance", "metric")):
        assert get_args(models.__dict__[section].model_fields[key].annotation) == c.METRIC_NAMES
    for section in ("DriftRules", "MonitorDrift"):
        assert tuple(definition(section)["properties"]["method"]["enum"]) == get_args(
            c.DriftMethod)


def test_the_json_schema_and_the_reference_list_the_same_names() -> None:
    metrics = definition("Metrics")["properties"]
    assert [name for name in metrics if name in c.METRIC_NAMES] == list(c.METRIC_NAMES)
    assert list(definition("LoadThresholds")["properties"]) == list(c.LOAD_STAT_NAMES)
    assert definition("Slice")["properties"]["metric"]["enum"] == list(c.METRIC_NAMES)
    assert list(metrics["no_regression"]["propertyNames"]["enum"]) == list(c.METRIC_NAMES)
    bench = definition("Benchmark")["properties"]["thresholds"]["description"]
    assert bench.endswith(f"STAT is {', '.join(c.BENCH_STAT_NAMES[:-1])} or "
                          f"{c.BENCH_STAT_NAMES[-1]}.")
    reference = reference_markdown()
    assert " \\| ".join(f"`{name}`" for name in c.METRIC_NAMES) in reference
    for name in (*c.METRIC_NAMES, *c.LOAD_STAT_NAMES):
        assert f"| `{name}` | threshold |" in reference


@pytest.mark.parametrize("metric", c.METRICS, ids=lambda metric: metric.name)
def test_every_metric_is_computed_for_the_tasks_it_fits(metric: c.Metric) -> None:
    truth = np.array([0, 1, 1, 0, 1])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.1, 0.9]])
    tasks = [task for task in get_args(models.Task) if metric.name in c.metrics_for(task)]
    assert tasks == [task for task in get_args(models.Task)
                     if metric_fits_task(metric.name, task) is None]
    assert tasks, f"{metric.name} fits no task"
    outputs = m.Outputs(values=np.array([0.1, 0.9, 0.8, 0.2, 0.7])) if metric.regression else (
        m.Outputs(proba=proba))
    assert math.isfinite(m.compute(metric.name, truth, outputs))
    assert metric.label and c.METRIC_LABELS[metric.name] == metric.label


@pytest.mark.parametrize("method", get_args(c.DriftMethod))
def test_every_drift_method_scores_and_reads_its_way(method: c.DriftMethod) -> None:
    reference, current = np.linspace(0, 1, 200), np.linspace(0.5, 1.5, 200)
    score = score_numeric(method, reference, current, bins=10)
    assert score.method == method and math.isfinite(score.score)
    assert score.drifted(0.2) is (score.score < 0.2 if method in c.P_VALUE_METHODS else
                                  score.score > 0.2)
    categorical = score_categories(method, {"a": 90, "b": 10}, {"a": 10, "b": 90})
    assert categorical.drifted(0.2)
    assert c.DRIFT_LABELS[method]


def test_the_benchmark_measures_every_statistic_a_threshold_can_name() -> None:
    timing = Timing(batch=4, seconds=np.array([0.001, 0.002, 0.003]))
    assert tuple(timing.stats()) == c.BENCH_STAT_NAMES
    for statistic in c.BENCH_STATISTICS:
        assert parse_bench_key(f"{statistic.name}@1") == (statistic.name, 1)
        assert statistic.unit == ("rows/s" if statistic.name == "rows_per_s" else "ms")


def test_the_load_gate_and_the_generated_locustfile_measure_every_slo() -> None:
    stats = LoadStats(requests=10, failures=1, rps=5.0, max_ms=9.0, histogram={},
                      percentiles={"p50_ms": 1.0, "p95_ms": 2.0, "p99_ms": 3.0})
    assert set(stats.observed()) == set(c.LOAD_STAT_NAMES)
    locustfile = ast.parse((ROOT / "generated/load/locustfile.py").read_text())
    observed = next(node for node in ast.walk(locustfile)
                    if isinstance(node, ast.FunctionDef) and node.name == "observed")
    returned = next(node.value for node in ast.walk(observed) if isinstance(node, ast.Return))
    assert isinstance(returned, ast.Dict)
    assert [ast.literal_eval(key) for key in returned.keys if key is not None] == list(
        c.LOAD_STAT_NAMES)
