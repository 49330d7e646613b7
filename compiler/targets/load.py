"""`<output>/load/locustfile.py` and `locust.conf`: the load test with the spec's SLOs built in.

The locustfile posts rows sampled from the test split to the server's predict endpoint and, in a
`quitting` listener (master or local runner only), sets Locust's exit code from the SLOs. It is
only rendered here: the compiler never imports locust.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from mlops.core.catalogue import LOAD_STATISTICS
from mlops.core.telemetry import PREDICT_PATH
from mlops.spec.threshold import format_number
from mlops.spec.types import format_duration

from ..plan import GeneratedFile, RenderContext

# dtype -> converter name in the locustfile
CONVERTERS = {"float": "_float", "int": "_int", "bool": "_bool", "str": "str", "category": "str"}


@dataclass(frozen=True)
class Slo:
    """One load threshold as the locustfile checks it."""

    statistic: str
    op: str
    limit: float
    severity: str
    label: str
    unit: str
    fails_when: str


def slos(ctx: RenderContext) -> list[Slo]:
    """The SLOs that are set, in the catalogue's order, with their labels and units."""
    thresholds = ctx.loaded.spec.load.thresholds.thresholds()
    result = []
    for statistic in LOAD_STATISTICS:
        threshold = thresholds.get(statistic.name)
        if threshold is None:
            continue
        comparison, unit = threshold.comparison, f" {statistic.unit}" if statistic.unit else ""
        result.append(Slo(statistic.name, comparison.op, comparison.value, threshold.severity,
                          statistic.label, unit, f"{comparison.describe_failure()}{unit}"))
    return result


class LoadTarget:
    name = "load"

    def render(self, ctx: RenderContext) -> Sequence[GeneratedFile]:
        spec = ctx.loaded.spec
        data = spec.data
        # parents[N] of the locustfile is the spec's folder: <spec>/<output parts>/load/locustfile.py
        depth = len(PurePosixPath(spec.compile.output).parts)
        view = {
            "spec_dir_depth": depth,
            "test_file": data.test,
            "parquet": data.format == "parquet",
            "features": [(name, CONVERTERS[data.columns[name].dtype]) for name in data.features],
            "predict_path": PREDICT_PATH,
            "slos": slos(ctx),
            "host": f"http://127.0.0.1:{spec.serving.port}",
            "locustfile": str(ctx.output("load", "locustfile.py")),
            "conf": str(ctx.output("load", "locust.conf")),
        }
        conf = {
            "users": str(spec.load.users),
            "spawn_rate": format_number(spec.load.spawn_rate),
            "run_time": format_duration(spec.load.duration),
        }
        return [
            GeneratedFile(ctx.output("load", "locustfile.py"),
                          ctx.render("load/locustfile.py.j2", load=view), ("load",)),
            GeneratedFile(ctx.output("load", "locust.conf"),
                          ctx.render("load/locust.conf.j2", load=view, conf=conf), ("load",)),
        ]


TARGET = LoadTarget()
