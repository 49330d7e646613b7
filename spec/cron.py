"""Five-field cron schedules that both GitHub Actions and Kubernetes CronJobs accept, parsed once.

The grammar is the intersection of the two consumers (GitHub's documented cron, and the robfig/cron
parser Kubernetes and actionlint use): per field `*`, numbers, ranges `a-b`, lists `a,b` and steps
`*/n`, `a-b/n`, `a/n`; month names JAN-DEC and weekday names SUN-SAT in capitals; weekdays 0-6
(robfig refuses 7); no `?`, `L`, `W`, `#` or `@hourly` shortcuts; and no two runs closer than five
minutes (GitHub's shortest schedule interval, which actionlint enforces).

The spec validates schedules with `parse`; the monitoring target derives how long a missed run
may take from `max_gap_seconds`, from the same parse.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import date, timedelta

MIN_INTERVAL_MINUTES = 5
"""GitHub Actions runs a scheduled workflow at most every five minutes."""
_HORIZON_START = date(2024, 1, 1)
_HORIZON_DAYS = 8 * 366  # two leap days apart, so a Feb-29 job still shows its gap
_PART = re.compile(r"^(?:(\*)|([0-9A-Za-z]+)(?:-([0-9A-Za-z]+))?)(?:/(\d+))?$")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_SHORTCUTS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
              "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
              "@hourly": "0 * * * *"}


@dataclass(frozen=True)
class CronField:
    """One of the five fields: its range, and the names that stand for its numbers."""

    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()

    def value(self, token: str, part: str) -> int:
        if token.isdigit():
            number = int(token)
            if not self.low <= number <= self.high:
                raise ValueError(self._out_of_range(number, part))
            return number
        if token.upper() in self.names:
            if token != token.upper():
                raise ValueError(f"the {self.name} field {part!r} writes {token!r}; names are "
                                 f"written in capitals ({token.upper()!r})")
            return self.low + self.names.index(token.upper())
        named = f" or names {self.names[0]}-{self.names[-1]}" if self.names else ""
        raise ValueError(f"the {self.name} field {part!r} has {token!r}; expected numbers "
                         f"{self.low}-{self.high}{named}")

    def _out_of_range(self, number: int, part: str) -> str:
        if self.name == "day of week" and number == 7:
            return (f"the day of week field {part!r} uses 7; GitHub Actions and Kubernetes take "
                    "0-6, with 0 for Sunday")
        return f"the {self.name} field {part!r} uses {number}, outside {self.low}-{self.high}"


FIELDS = (CronField("minute", 0, 59), CronField("hour", 0, 23), CronField("day of month", 1, 31),
          CronField("month", 1, 12, _MONTHS), CronField("day of week", 0, 6, _WEEKDAYS))


@dataclass(frozen=True)
class Schedule:
    """The times a schedule selects. `day_star`/`weekday_star` say whether a day field is
    unrestricted, as robfig (Kubernetes) and as vixie cron read it; they differ for `*/2`."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    day_star: tuple[bool, bool]
    weekday_star: tuple[bool, bool]


def parse(text: str) -> Schedule:
    """The schedule `text` selects; ValueError says what is wrong, in the spec author's terms."""
    fields = text.split()
    if len(fields) == 1 and fields[0] in _SHORTCUTS:
        raise ValueError(f"expected five cron fields; GitHub Actions does not accept {fields[0]!r}: "
                         f"write {_SHORTCUTS[fields[0]]!r}")
    if len(fields) != 5:
        raise ValueError(
            f"expected a cron schedule of 5 fields (minute hour day month weekday), got {text!r}"
        )
    minutes, hours, days, months, weekdays = (
        _expand(part, field) for part, field in zip(fields, FIELDS, strict=True))
    schedule = Schedule(minutes, hours, days, months, weekdays,
                        day_star=_star(fields[2]), weekday_star=_star(fields[4]))
    if not all(_run_days(schedule, reading) for reading in (0, 1)):
        raise ValueError(f"{text!r} never runs: no date has that day of the month in those months")
    shortest = min_gap_seconds(schedule) / 60
    if shortest < MIN_INTERVAL_MINUTES:
        raise ValueError(f"{text!r} runs twice within {shortest:g} minute(s); GitHub Actions runs "
                         f"a schedule at most every {MIN_INTERVAL_MINUTES} minutes")
    return schedule


def _expand(text: str, field: CronField) -> frozenset[int]:
    """The values one field selects ('*/15', 'MON-FRI', '0,30')."""
    values: set[int] = set()
    for part in text.split(","):
        match = _PART.match(part)
        if not match:
            named = f", names {field.names[0]}-{field.names[-1]}" if field.names else ""
            raise ValueError(f"the {field.name} field {text!r} is not valid; expected "
                             f"{field.low}-{field.high}{named}, '*', ranges a-b, lists a,b and "
                             "steps '/n'")
        star, first, last, step_text = match.groups()
        step = int(step_text) if step_text is not None else 1
        if step == 0:
            raise ValueError(f"the {field.name} field {text!r} has a step of 0")
        if star:
            start, stop = field.low, field.high
        else:
            start = field.value(first, text)
            stop = field.value(last, text) if last is not None else (
                field.high if step_text is not None else start)
            if start > stop:
                raise ValueError(f"the {field.name} field {text!r} has a range that runs "
                                 f"backwards ({part!r})")
        values.update(range(start, stop + 1, step))
    return frozenset(values)


def _star(text: str) -> tuple[bool, bool]:
    """(robfig, vixie): robfig counts only '*' and '*/1' as unrestricted, vixie any '*...'."""
    return text in ("*", "*/1"), text.startswith("*")


def max_gap_seconds(schedule: str | Schedule) -> float:
    """Longest time between two consecutive runs (UTC), under either reading of the day fields,
    so an alert on a silent monitor never fires early."""
    parsed = parse(schedule) if isinstance(schedule, str) else schedule
    return float(max(max(_gaps(parsed, reading)) for reading in (0, 1)) * 60)


def min_gap_seconds(schedule: Schedule) -> float:
    """Shortest time between two consecutive runs (UTC), under either reading of the days."""
    return float(min(min(_gaps(schedule, reading)) for reading in (0, 1)) * 60)


def _gaps(schedule: Schedule, reading: int) -> list[int]:
    """Minutes between consecutive runs over eight years ([] when it never runs)."""
    days = _run_days(schedule, reading)
    if not days:
        return []
    times = sorted(hour * 60 + minute for hour in schedule.hours for minute in schedule.minutes)
    within = [b - a for a, b in itertools.pairwise(times)]
    across = [(b - a) * 1440 - times[-1] + times[0] for a, b in itertools.pairwise(days)]
    return within + across or [_HORIZON_DAYS * 1440]


def _run_days(schedule: Schedule, reading: int) -> list[int]:
    """Days (from 2024-01-01) with a run. Vixie cron's rule for the two day fields: when both
    are restricted either may match, otherwise both must."""
    either = not schedule.day_star[reading] and not schedule.weekday_star[reading]
    found = []
    for offset in range(_HORIZON_DAYS):
        day = _HORIZON_START + timedelta(days=offset)
        by_date = day.day in schedule.days
        by_weekday = (day.weekday() + 1) % 7 in schedule.weekdays
        if day.month in schedule.months and (
                (by_date or by_weekday) if either else (by_date and by_weekday)):
            found.append(offset)
    return found
