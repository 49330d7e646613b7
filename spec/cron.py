"""Five-field cron schedules (as GitHub Actions and Kubernetes CronJobs read them), parsed once.

The spec validates schedules with `validate`; the monitoring target derives how long a missed run
may take with `max_gap_seconds`. Both read fields through `expand`.
"""

from __future__ import annotations

import itertools
import re
from datetime import date, timedelta

FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
          ("day of week", 0, 7))
_PART = re.compile(r"^(\*|\d+(?:-\d+)?)(?:/(\d+))?$")
_HORIZON_START = date(2024, 1, 1)
_HORIZON_DAYS = 8 * 366  # two leap days apart, so a Feb-29 job still shows its gap


def expand(text: str, name: str, low: int, high: int) -> set[int]:
    """The values one field selects ('*/15', '1-5', '0,30'); ValueError names the bad field."""
    values: set[int] = set()
    for part in text.split(","):
        match = _PART.match(part)
        numbers = [int(n) for n in re.findall(r"\d+", match.group(1))] if match else []
        step = int(match.group(2)) if match and match.group(2) is not None else 1
        if not match or step == 0 or any(not low <= n <= high for n in numbers):
            raise ValueError(f"expected a cron schedule; the {name} field {text!r} is not valid "
                             f"({low}-{high}, '*', ranges, lists and '/step')")
        if match.group(1) == "*":
            start, stop = low, high
        elif len(numbers) == 2:
            start, stop = numbers
        else:
            start = numbers[0]
            stop = high if match.group(2) is not None else start
        values.update(range(start, stop + 1, step))
    return values


def validate(schedule: str) -> list[set[int]]:
    """Every field's values; ValueError with the expected form for anything else."""
    fields = schedule.split()
    if len(fields) != 5:
        raise ValueError(
            f"expected a cron schedule of 5 fields (minute hour day month weekday), got {schedule!r}"
        )
    return [expand(text, name, low, high)
            for text, (name, low, high) in zip(fields, FIELDS, strict=True)]


def max_gap_seconds(schedule: str) -> float:
    """Longest time between two consecutive runs (UTC).

    Scans eight years day by day (vixie-cron semantics: when both day fields are restricted,
    either may match), so a daily job gets 24h and '0 0 1 * *' gets 31 days.
    """
    minutes, hours, days, months, weekdays = validate(schedule)
    fields = schedule.split()
    weekdays = {day % 7 for day in weekdays}
    either = not fields[2].startswith("*") and not fields[4].startswith("*")
    times = sorted(hour * 60 + minute for hour in hours for minute in minutes)
    gap = max((b - a for a, b in itertools.pairwise(times)), default=0)
    previous: int | None = None
    for offset in range(_HORIZON_DAYS):
        day = _HORIZON_START + timedelta(days=offset)
        by_date, by_weekday = day.day in days, (day.weekday() + 1) % 7 in weekdays
        if day.month in months and ((by_date or by_weekday) if either else by_date and by_weekday):
            if previous is not None:
                gap = max(gap, (offset - previous) * 1440 - times[-1] + times[0])
            previous = offset
    return float(gap * 60 if gap else _HORIZON_DAYS * 86400)
