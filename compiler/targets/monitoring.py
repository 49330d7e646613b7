"""Monitoring target: Prometheus alert rules, their promtool unit tests, and the monitor job's config.

Every alert is built once as an `Alert` (rule + synthetic scenarios). The plain rules file, the
PrometheusRule resource and the promtool test file are all views of that one list, so the three
cannot diverge. Metric names and endpoints come from `mlops.core.telemetry`, never retyped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from mlops.compiler import yaml_emit
from mlops.compiler.plan import GeneratedFile, RenderContext
from mlops.core import telemetry
from mlops.core.catalogue import LOWER_IS_BETTER, P_VALUE_METHODS
from mlops.spec import cron
from mlops.spec.models import MonitorChallenger, Spec
from mlops.spec.threshold import format_number
from mlops.spec.types import format_duration

RATE_WINDOW = "5m"
"""Range of every rate() in the rules; the promtool scenarios run long enough to fill it."""
MONITOR_DEADLINE_SECONDS = 1200
"""Longest a monitor run may take (the CronJob's activeDeadlineSeconds)."""
MONITOR_GRACE_SECONDS = 1800
"""Slack on top of the schedule's longest gap before a silent monitor counts as stale."""
UPLOAD_STUCK_WINDOW = "15m"
"""A request-log upload failing this long with nothing uploaded is stuck, not a blip: the
uploader retries at least every 30 s, so a store still down fails dozens of times in it."""
"""Error metrics: `monitors.performance.min` is then a ceiling, not a floor."""

_STEPS = (1, 5, 15, 60, 360, 1440)
_MAX_STEPS = 200
Severity = Literal["warning", "critical"]


@dataclass(frozen=True)
class Scenario:
    """Synthetic series for one promtool test case, and whether the alert must fire on them."""

    name: str
    series: tuple[tuple[str, str], ...]
    interval_minutes: int
    eval_minutes: int
    fires: bool


@dataclass(frozen=True)
class Alert:
    """One alerting rule plus the scenarios that prove it fires above and stays silent below."""

    name: str
    group: str
    expr: str
    for_seconds: float
    severity: Severity
    summary: str
    description: str
    scenarios: tuple[Scenario, ...]
    kept: tuple[tuple[str, str], ...] = ()
    """Labels the expression keeps from the scenarios' series, which a firing alert carries."""


def stale_after_seconds(spec: Spec) -> float | None:
    """How long without a monitor run is too long, or None when there is nothing to watch: the
    monitor computes nothing, or it has no Pushgateway, so its batch-job metrics never reach
    Prometheus and an absence alert would fire forever."""
    monitors = spec.monitors
    if monitors.pushgateway is None or (monitors.drift is None and monitors.performance is None
                                        and monitors.challenger is None):
        return None
    return cron.max_gap_seconds(monitors.schedule) + MONITOR_GRACE_SECONDS


def evaluation_step(spec: Spec) -> int:
    """Minutes between rule evaluations in the promtool tests: 1, or coarser when proving the
    liveness alerts of a weekly or monthly monitor would otherwise take thousands of steps."""
    longest = (stale_after_seconds(spec) or 0) / 60
    return next((step for step in _STEPS if longest / step <= _MAX_STEPS), _STEPS[-1])


def alerts(spec: Spec) -> list[Alert]:
    """Every alert the spec configures, in a stable order (serving first, then the monitor's)."""
    monitors, model, step = spec.monitors, spec.name, evaluation_step(spec)
    found: list[Alert] = []
    if monitors.latency is not None:
        found.append(_latency(model, monitors.latency.p95_ms, monitors.latency.for_, step))
    if monitors.error_rate is not None:
        found.append(_error_rate(model, monitors.error_rate.max, monitors.error_rate.for_, step))
    log = spec.serving.request_log
    if log is not None and log.upload is not None and log.sample_rate > 0:
        found.append(_upload_stuck(model, log.upload, step))
    if monitors.drift is not None:
        found.append(_drift(model, monitors.drift.max_drifted_features, step))
    if monitors.performance is not None:
        found.append(_performance(model, monitors.performance.metric, monitors.performance.min,
                                  step))
    if monitors.challenger is not None:
        metric = monitors.performance.metric if monitors.performance is not None else None
        found.extend(_challenger(model, monitors.challenger, metric, step))
    stale_after = stale_after_seconds(spec)
    if stale_after is not None:
        found.extend(_monitor_liveness(model, monitors.schedule, stale_after, step))
    return found


# --- the alerts ----------------------------------------------------------------------------------


def _selector(metric: str, model: str, /, *, regex: tuple[str, str] | None = None,
              **labels: str) -> str:
    """`metric{model="m",k="v"}`, optionally with one `k=~"re"` matcher."""
    matchers = [f'model="{model}"', *(f'{key}="{value}"' for key, value in labels.items())]
    if regex is not None:
        matchers.append(f'{regex[0]}=~"{regex[1]}"')
    return f"{metric}{{{','.join(matchers)}}}"


def _latency(model: str, p95_ms: float, for_seconds: float, step: int) -> Alert:
    seconds = p95_ms / 1000
    buckets = f"{telemetry.REQUEST_DURATION.name}_bucket"
    bounds = [format_number(seconds / 4), format_number(seconds), format_number(seconds * 4), "+Inf"]
    expr = (f"histogram_quantile(0.95, sum by (le) (rate("
            f"{_selector(buckets, model, regex=('endpoint', telemetry.INFERENCE_ENDPOINTS_REGEX))}"
            f"[{RATE_WINDOW}]))) > {format_number(seconds)}")
    minutes = _eval_minutes(for_seconds, step)

    def histogram(counts: Sequence[int]) -> tuple[tuple[str, str], ...]:
        return tuple(
            (_selector(buckets, model, endpoint=telemetry.PREDICT_PATH, le=bound),
             f"0+{count}x{minutes}")
            for bound, count in zip(bounds, counts, strict=True)
        )

    threshold = f"{format_number(p95_ms)} ms"
    return Alert(
        name="MlopsLatencyHigh", group="serving", expr=expr, for_seconds=for_seconds,
        severity="warning",
        summary=f"{model}: p95 latency above {threshold}",
        description=(f"The p95 request latency of model {model} has been above {threshold} "
                     f"(monitors.latency.p95_ms) for {prometheus_duration(for_seconds)}."),
        scenarios=(
            # Every request lands between the threshold and 4x it: p95 interpolates to ~3.85x.
            Scenario(f"p95 latency above {threshold} fires", histogram([0, 0, 10, 10]),
                     1, minutes, True),
            # Every request lands below a quarter of the threshold.
            Scenario(f"p95 latency below {threshold} stays silent", histogram([10, 10, 10, 10]),
                     1, minutes, False),
        ),
    )


def _error_rate(model: str, maximum: float, for_seconds: float, step: int) -> Alert:
    requests = telemetry.REQUESTS.name
    failed = _selector(requests, model, regex=("status", "5.."))
    expr = (f"sum(rate({failed}[{RATE_WINDOW}])) / sum(rate({_selector(requests, model)}"
            f"[{RATE_WINDOW}])) > {format_number(maximum)}")
    minutes = _eval_minutes(for_seconds, step)

    def traffic(error_fraction: float) -> tuple[tuple[str, str], ...]:
        errors = 100 * error_fraction
        return (
            (_selector(requests, model, endpoint=telemetry.PREDICT_PATH, status="200"),
             f"0+{format_number(100 - errors)}x{minutes}"),
            (_selector(requests, model, endpoint=telemetry.PREDICT_PATH, status="500"),
             f"0+{format_number(errors)}x{minutes}"),
        )

    threshold = _percent(maximum)
    scenarios = [Scenario(f"error rate below {threshold} stays silent", traffic(maximum / 2),
                          1, minutes, False)]
    if maximum < 1:
        scenarios.insert(0, Scenario(f"error rate above {threshold} fires",
                                     traffic((maximum + 1) / 2), 1, minutes, True))
    return Alert(
        name="MlopsErrorRateHigh", group="serving", expr=expr, for_seconds=for_seconds,
        severity="critical",
        summary=f"{model}: error rate above {threshold}",
        description=(f"More than {threshold} of the requests to model {model} have failed with "
                     f"a 5xx status (monitors.error_rate.max) for {prometheus_duration(for_seconds)}."),
        scenarios=tuple(scenarios),
    )


def _upload_stuck(model: str, prefix: str, step: int) -> Alert:
    """serving.request_log.upload failing while nothing reaches the bucket, per server (variant):
    the monitor then reads an ever older log, and past buffer_mb the server deletes files."""
    failures = _selector(telemetry.UPLOAD_FAILURES.name, model)
    uploaded = _selector(telemetry.UPLOADED_FILES.name, model)
    window = UPLOAD_STUCK_WINDOW
    expr = (f"sum by (variant) (increase({failures}[{window}])) > 0 and "
            f"sum by (variant) (increase({uploaded}[{window}])) == 0")
    minutes = _aligned(20, step)

    def counters(failing: str, uploading: str) -> tuple[tuple[str, str], ...]:
        return ((_selector(telemetry.UPLOAD_FAILURES.name, model, variant="champion"), failing),
                (_selector(telemetry.UPLOADED_FILES.name, model, variant="champion"), uploading))

    return Alert(
        name="MlopsRequestLogUploadStuck", group="serving", expr=expr, for_seconds=0,
        severity="warning",
        summary=f"{model}: request logs not reaching {prefix}",
        description=(f"For {window} every upload of model {model}'s request logs to {prefix} "
                     "(serving.request_log.upload) has failed and none has succeeded: the monitor "
                     "reads an ever older log, and past request_log.buffer_mb the server deletes "
                     f"the oldest files ({telemetry.UPLOAD_DROPPED.name})."),
        scenarios=(
            Scenario("failing uploads with none done fires",
                     counters(f"0+2x{minutes}", f"5x{minutes}"), 1, minutes, True),
            Scenario("an occasional failure among uploads stays silent",
                     counters(f"0+1x{minutes}", f"0+1x{minutes}"), 1, minutes, False),
            Scenario("an idle uploader stays silent",
                     counters(f"0x{minutes}", f"0x{minutes}"), 1, minutes, False),
        ),
        kept=(("variant", "champion"),),
    )


def _drift(model: str, max_fraction: float, step: int) -> Alert:
    metric = telemetry.DRIFTED_FRACTION.name
    threshold = _percent(max_fraction)
    minutes = _aligned(2, step)

    def gauge(value: float) -> tuple[tuple[str, str], ...]:
        return ((_selector(metric, model), f"{format_number(value)}x{minutes}"),)

    scenarios = [Scenario(f"drifted fraction below {threshold} stays silent",
                          gauge(max_fraction / 2), 1, minutes, False)]
    if max_fraction < 1:
        scenarios.insert(0, Scenario(f"drifted fraction above {threshold} fires",
                                     gauge((max_fraction + 1) / 2), 1, minutes, True))
    return Alert(
        name="MlopsDriftDetected", group="monitor",
        expr=f"max({_selector(metric, model)}) > {format_number(max_fraction)}",
        for_seconds=0, severity="warning",
        summary=f"{model}: more than {threshold} of the features drifted",
        description=(f"The monitor job found more than {threshold} of model {model}'s input "
                     f"features drifted from the reference data "
                     f"(monitors.drift.max_drifted_features); {telemetry.DRIFT_SCORE.name} "
                     "names them."),
        scenarios=tuple(scenarios),
    )


def _performance(model: str, metric_name: str, bound: float, step: int) -> Alert:
    metric = telemetry.PERFORMANCE.name
    selector = _selector(metric, model, metric=metric_name)
    delta = max(0.05, abs(bound) * 0.05)
    ceiling = metric_name in LOWER_IS_BETTER
    word, aggregate, op, bad, good = (
        ("above", "max", ">", bound + delta, bound - delta) if ceiling
        else ("below", "min", "<", bound - delta, bound + delta)
    )
    threshold = format_number(bound)
    minutes = _aligned(2, step)

    def gauge(value: float) -> tuple[tuple[str, str], ...]:
        return ((selector, f"{format_number(value)}x{minutes}"),)

    return Alert(
        name="MlopsPerformanceDegraded", group="monitor",
        expr=f"{aggregate}({selector}) {op} {threshold}", for_seconds=0, severity="critical",
        summary=f"{model}: live {metric_name} {word} {threshold}",
        description=(f"On labelled production traffic, model {model}'s {metric_name} is {word} "
                     f"{threshold} (monitors.performance.min)."),
        scenarios=(
            Scenario(f"live {metric_name} {word} {threshold} fires", gauge(bad), 1, minutes,
                     True),
            Scenario(f"live {metric_name} on the good side of {threshold} stays silent",
                     gauge(good), 1, minutes, False),
        ),
    )


def _challenger(model: str, rules: MonitorChallenger, metric_name: str | None,
                step: int) -> list[Alert]:
    """serving.challenger against monitors.challenger: the three numbers the monitor exports."""
    minutes = _aligned(2, step)

    def gauge(selector: str, value: float) -> tuple[tuple[str, str], ...]:
        return ((selector, f"{format_number(value)}x{minutes}"),)

    def scenarios(selector: str, what: str, bad: float | None, good: float | None
                  ) -> tuple[Scenario, ...]:
        found = [] if bad is None else [Scenario(f"{what} fires", gauge(selector, bad), 1,
                                                  minutes, True)]
        if good is not None:
            found.append(Scenario(f"{what} within the limit stays silent", gauge(selector, good),
                                  1, minutes, False))
        return tuple(found)

    agreement = _selector(telemetry.CHALLENGER_AGREEMENT.name, model)
    floor = rules.min_agreement
    found = [Alert(
        name="MlopsChallengerDisagrees", group="monitor",
        expr=f"min({agreement}) < {format_number(floor)}", for_seconds=0, severity="warning",
        summary=f"{model}: the challenger agrees with the champion on less than {_percent(floor)}",
        description=(f"On the requests both models answered, serving.challenger of model {model} "
                     f"gave the champion's answer less often than {_percent(floor)} "
                     "(monitors.challenger.min_agreement)."),
        scenarios=scenarios(agreement, "agreement", floor / 2 if floor > 0 else None,
                            (1 + floor) / 2))]
    shift = _selector(telemetry.CHALLENGER_SHIFT.name, model)
    limit = rules.max_prediction_shift
    p_value = rules.method in P_VALUE_METHODS
    found.append(Alert(
        name="MlopsChallengerPredictionShift", group="monitor",
        expr=(f"min({shift}) < {format_number(limit)}" if p_value
              else f"max({shift}) > {format_number(limit)}"),
        for_seconds=0, severity="warning",
        summary=f"{model}: the challenger's predictions shifted from the champion's",
        description=(f"The challenger's prediction distribution differs from the champion's "
                     f"beyond {format_number(limit)} (monitors.challenger.max_prediction_shift, "
                     f"{'a p-value below it' if p_value else 'a score above it'})."),
        scenarios=scenarios(shift, "prediction shift", limit / 2 if p_value else limit * 2,
                            (1 + limit) / 2 if p_value and limit < 1 else
                            None if p_value else limit / 2)))
    if rules.max_metric_drop is not None and metric_name is not None:
        drop = _selector(telemetry.CHALLENGER_METRIC_DROP.name, model, metric=metric_name)
        most = rules.max_metric_drop
        margin = max(0.05, most * 0.5)
        found.append(Alert(
            name="MlopsChallengerWorse", group="monitor",
            expr=f"max({drop}) > {format_number(most)}", for_seconds=0, severity="critical",
            summary=f"{model}: the challenger's live {metric_name} is worse by more than "
                    f"{format_number(most)}",
            description=(f"On labelled production traffic, serving.challenger of model {model} "
                         f"scores {metric_name} worse than the champion by more than "
                         f"{format_number(most)} (monitors.challenger.max_metric_drop)."),
            scenarios=scenarios(drop, f"{metric_name} drop", most + margin,
                                most / 2 if most > 0 else -margin)))
    return found


def _monitor_liveness(model: str, schedule: str, stale_after: float, step: int
                      ) -> tuple[Alert, Alert]:
    metric = telemetry.MONITOR_LAST_RUN.name
    selector = _selector(metric, model)
    limit = prometheus_duration(stale_after)
    minutes = _aligned(math.ceil(stale_after / 60) + 1, step)
    samples = minutes // step
    # One sample per evaluation step: the value is the time of that step (a run just finished) ...
    reporting = ((selector, f"0+{60 * step}x{samples}"),)
    stale = Alert(
        name="MlopsMonitorStale", group="monitor",
        expr=f"time() - max({selector}) > {format_number(stale_after)}", for_seconds=0,
        severity="warning",
        summary=f"{model}: the monitor job has not completed a run for {limit}",
        description=(f"The monitor job of model {model} runs on '{schedule}' (monitors.schedule); "
                     f"its last completed run is more than {limit} old."),
        scenarios=(
            # ... or stays at 0: the one run happened at the start.
            Scenario(f"last monitor run older than {limit} fires", ((selector, f"0x{samples}"),),
                     step, minutes, True),
            Scenario("a monitor reporting on time stays silent", reporting, step, minutes, False),
        ),
    )
    absent = Alert(
        name="MlopsMonitorAbsent", group="monitor", expr=f"absent({selector})",
        for_seconds=stale_after, severity="warning",
        summary=f"{model}: no monitor run reported for {limit}",
        description=(f"No {metric} series for model {model} has reached Prometheus for {limit}; "
                     "the monitor job is not running or cannot push its metrics."),
        scenarios=(
            Scenario(f"no monitor run reported for {limit} fires", (), step, minutes, True),
            Scenario("a reported monitor run stays silent", reporting, step, minutes, False),
        ),
    )
    return stale, absent


def _eval_minutes(for_seconds: float, step: int) -> int:
    """When a scenario is evaluated: the rate window is full and `for` has elapsed, plus slack."""
    return _aligned(math.ceil(for_seconds / 60) + 7 + step, step)


def _aligned(minutes: int, step: int) -> int:
    """The first evaluation at or after `minutes`."""
    return step * math.ceil(minutes / step)


def prometheus_duration(seconds: float) -> str:
    """Whole seconds as Prometheus writes durations: '5m', '1h30m', '7d30m', '0s'."""
    rest, parts = round(seconds), []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts) or "0s"


def _percent(fraction: float) -> str:
    return f"{format_number(fraction * 100)}%"


# --- views of the alerts ---------------------------------------------------------------------------


def rule_groups(model: str, found: Sequence[Alert]) -> list[dict[str, Any]]:
    """The `groups:` list shared by rules.yaml and the PrometheusRule resource."""
    groups: list[dict[str, Any]] = []
    for group in ("serving", "monitor"):
        rules = [_rule(model, alert) for alert in found if alert.group == group]
        if rules:
            groups.append({"name": f"mlops-{model}-{group}", "rules": rules})
    return groups


def _rule(model: str, alert: Alert) -> dict[str, Any]:
    return {
        "alert": alert.name,
        "expr": alert.expr,
        "for": prometheus_duration(alert.for_seconds),
        "labels": _labels(model, alert),
        "annotations": {"summary": alert.summary, "description": alert.description},
    }


def _labels(model: str, alert: Alert) -> dict[str, str]:
    return {"severity": alert.severity, "model": model}


def rule_tests(model: str, found: Sequence[Alert]) -> list[dict[str, Any]]:
    """promtool test cases: one per scenario, each asserting exactly which alerts are firing."""
    return [
        {
            "name": f"{alert.name}: {scenario.name}",
            "interval": f"{scenario.interval_minutes}m",
            "input_series": [{"series": series, "values": values}
                             for series, values in scenario.series],
            "alert_rule_test": [{
                "eval_time": f"{scenario.eval_minutes}m",
                "alertname": alert.name,
                "exp_alerts": [{
                    "exp_labels": {**dict(alert.kept), **_labels(model, alert)},
                    "exp_annotations": {"summary": alert.summary,
                                        "description": alert.description},
                }] if scenario.fires else [],
            }],
        }
        for alert in found
        for scenario in alert.scenarios
    ]


def yaml_quote(value: str | None) -> str:
    """A single-quoted YAML scalar (or null): readable for PromQL, safe for any one-line text."""
    if value is None:
        return "null"
    return "'" + value.replace("'", "''") + "'"


def monitor_config(ctx: RenderContext) -> str:
    """The monitor job's config; the Kubernetes target ships the same text in its ConfigMap."""
    spec = ctx.loaded.spec
    drift = spec.monitors.drift
    performance = spec.monitors.performance
    return ctx.render(
        "monitoring/monitor.yaml.j2",
        window=format_duration(spec.monitors.window),
        drift_features=spec.data.drift.features or spec.data.features,
        drift=drift,
        performance=performance,
        challenger=spec.monitors.challenger,
        alert_when=(None if performance is None
                    else "above" if performance.metric in LOWER_IS_BETTER else "below"),
        request_log=spec.serving.request_log,
        telemetry=telemetry,
        quote=yaml_quote,
    )


class MonitoringTarget:
    """generated/monitoring/: rules.yaml, prometheusrule.yaml, rules.test.yaml, monitor.yaml."""

    name = "monitoring"

    def render(self, ctx: RenderContext) -> list[GeneratedFile]:
        spec = ctx.loaded.spec
        found = alerts(spec)
        groups = yaml_emit.dump({"groups": rule_groups(spec.name, found)})
        tests = yaml_emit.dump({"tests": rule_tests(spec.name, found)})
        folder, origin = ctx.output_dir / "monitoring", ("monitors",)
        return [
            GeneratedFile(folder / "rules.yaml",
                          ctx.render("monitoring/rules.yaml.j2", groups=groups), origin),
            GeneratedFile(folder / "prometheusrule.yaml",
                          ctx.render("monitoring/prometheusrule.yaml.j2", groups=groups,
                                     quote=yaml_quote), origin),
            GeneratedFile(folder / "rules.test.yaml",
                          ctx.render("monitoring/rules.test.yaml.j2", tests=tests,
                                     step=evaluation_step(spec)), origin),
            GeneratedFile(folder / "monitor.yaml", monitor_config(ctx), origin),
        ]


TARGET = MonitoringTarget()
