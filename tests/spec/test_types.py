from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from mlops.spec.types import (
    CpuQuantity,
    Cron,
    MemoryQuantity,
    cpu_millicores,
    format_duration,
    memory_bytes,
    parse_duration,
)


@pytest.mark.parametrize(("text", "seconds"), [
    ("20s", 20), ("5m", 300), ("1h", 3600), ("250ms", 0.25), ("1.5m", 90), (30, 30), ("2d", 172800),
])
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["20", "5 minutes", "", "-5s", 0, True, "0s"])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(("seconds", "text"), [(20, "20s"), (300, "5m"), (7200, "2h"), (0.25, "250ms"),
                                               (90, "90s")])
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_quantities() -> None:
    assert cpu_millicores("500m") == 500 and cpu_millicores("2") == 2000 and cpu_millicores("0.5") == 500
    assert memory_bytes("512Mi") == 512 * 2**20 and memory_bytes("1G") == 10**9


class _Holder(BaseModel):
    cpu: CpuQuantity = "1"
    memory: MemoryQuantity = "1Gi"
    cron: Cron = "0 * * * *"


@pytest.mark.parametrize("cron", ["*/15 * * * *", "0 0 1 1 0", "0 9-17 * * 1-5", "5,35 * * * 6"])
def test_good_cron(cron: str) -> None:
    assert _Holder(cron=cron).cron == cron


@pytest.mark.parametrize(("cron", "words"), [
    ("0 * * *", "5 fields"), ("60 * * * *", "minute field"), ("* 24 * * *", "hour field"),
    ("* * 0 * *", "day of month"), ("*/0 * * * *", "minute field"), ("@hourly", "five cron fields"),
    ("5,35 * * * 7", "day of week"),
])
def test_bad_cron(cron: str, words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        _Holder(cron=cron)


@pytest.mark.parametrize(("field", "value"), [("cpu", "lots"), ("cpu", "0"), ("memory", "512MB"),
                                              ("memory", 512)])
def test_bad_quantities(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match="quantity"):
        _Holder.model_validate({field: value})
