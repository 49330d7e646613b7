"""The monitor's results as Prometheus metrics: a textfile-collector file and a Pushgateway push.

Names, kinds, help and label sets come from `mlops.core.telemetry`, the same declarations the generated
alert rules query. The textfile is written to a temporary file and renamed, so node_exporter never
scrapes half a file. The push is a PUT (replace the group) of the same text, stdlib only.
"""

from __future__ import annotations

import math
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from mlops.core import telemetry
from mlops.core.telemetry import MetricName

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PUSH_TIMEOUT_S = 10.0


@dataclass
class Samples:
    """Gauge samples by metric, each a (labels, value) pair, rendered in telemetry's order."""

    values: dict[str, list[tuple[dict[str, str], float]]] = field(default_factory=dict)

    def add(self, metric: MetricName, value: float, labels: dict[str, str]) -> None:
        if set(labels) != set(metric.labels):
            raise ValueError(f"{metric.name} takes labels {metric.labels}, got {tuple(labels)}")
        if math.isfinite(value):
            self.values.setdefault(metric.name, []).append((labels, value))

    def text(self) -> str:
        lines: list[str] = []
        for metric in telemetry.MONITOR_METRICS:
            samples = self.values.get(metric.name)
            if not samples:
                continue
            lines.append(f"# HELP {metric.name} {metric.help}")
            lines.append(f"# TYPE {metric.name} {metric.kind}")
            for labels, value in samples:
                rendered = ",".join(f'{key}="{_escape(labels[key])}"' for key in metric.labels)
                lines.append(f"{metric.name}{{{rendered}}} {value!r}")
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def write_textfile(path: Path, text: str) -> None:
    """Atomic replace: write beside the target, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def push(url: str, job: str, model: str, text: str) -> str | None:
    """PUT the samples under job/model; returns None on success, else what went wrong."""
    target = (f"{url.rstrip('/')}/metrics/job/{quote(job, safe='')}"
              f"/model/{quote(model, safe='')}")
    request = urllib.request.Request(target, data=text.encode(), method="PUT",
                                     headers={"Content-Type": CONTENT_TYPE})
    try:
        with urllib.request.urlopen(request, timeout=PUSH_TIMEOUT_S) as response:
            response.read()
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace").strip()
        return f"{target} answered {error.code}: {detail[:200]}"
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return f"cannot reach {target}: {reason}"
    return None
