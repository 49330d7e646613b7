"""The cron grammar is what GitHub Actions and Kubernetes both accept; one parser serves the spec
and the monitor's longest-gap computation.

`test_actionlint_agrees` runs the real actionlint (robfig/cron, as Kubernetes) on the schedules
accepted here, so the grammar cannot drift wider than a consumer's.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mlops.spec.cron import max_gap_seconds, parse
from tests.tooling import require_tool

ACCEPTED = ["0 * * * *", "*/15 * * * *", "0 6 * * MON-FRI", "0 0 1 JAN *", "30 4 * JAN-MAR SUN",
            "5/15 * * * *", "0 9-17/2 * * 1-5", "0 0 1,15 * *", "0 0 * * 0", "0 0 * * SAT",
            "*/5 * * * *", "0 0 29 2 *"]


@pytest.mark.parametrize("schedule", ACCEPTED)
def test_accepted(schedule: str) -> None:
    parse(schedule)


@pytest.mark.parametrize(("schedule", "message"), [
    ("0 0 * * 7", "the day of week field '7' uses 7; GitHub Actions and Kubernetes take 0-6, "
                  "with 0 for Sunday"),
    ("0 0 * * 1-7", "the day of week field '1-7' uses 7; GitHub Actions and Kubernetes take 0-6, "
                    "with 0 for Sunday"),
    ("0 6 * * mon-fri", "the day of week field 'mon-fri' writes 'mon'; names are written in "
                        "capitals ('MON')"),
    ("0 0 * JUNE *", "the month field 'JUNE' has 'JUNE'; expected numbers 1-12 or names JAN-DEC"),
    ("0 0 * * ?", "the day of week field '?' is not valid; expected 0-6, names SUN-SAT, '*', "
                  "ranges a-b, lists a,b and steps '/n'"),
    ("0 0 L * *", "the day of month field 'L' has 'L'; expected numbers 1-31"),
    ("1,,2 * * * *", "the minute field '1,,2' is not valid; expected 0-59, '*', ranges a-b, lists "
                     "a,b and steps '/n'"),
    ("0 0 5-3 * *", "the day of month field '5-3' has a range that runs backwards ('5-3')"),
    ("*/0 * * * *", "the minute field '*/0' has a step of 0"),
    ("60 * * * *", "the minute field '60' uses 60, outside 0-59"),
    ("* 24 * * *", "the hour field '24' uses 24, outside 0-23"),
    ("0 * * *", "expected a cron schedule of 5 fields (minute hour day month weekday), "
                "got '0 * * *'"),
    ("@daily", "expected five cron fields; GitHub Actions does not accept '@daily': write "
               "'0 0 * * *'"),
    ("* * * * *", "'* * * * *' runs twice within 1 minute(s); GitHub Actions runs a schedule at "
                  "most every 5 minutes"),
    ("58,2 * * * *", "'58,2 * * * *' runs twice within 4 minute(s); GitHub Actions runs a "
                     "schedule at most every 5 minutes"),
    ("0 0 31 2 *", "'0 0 31 2 *' never runs: no date has that day of the month in those months"),
])
def test_refused(schedule: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse(schedule)
    assert str(raised.value) == message


@pytest.mark.parametrize(("schedule", "hours"), [
    ("0 6 * * MON-FRI", 72),  # Friday 06:00 -> Monday 06:00
    ("0 0 1 JAN *", 366 * 24),
    ("0 0 */2 * MON", 21 * 24),  # vixie reads */2 as unrestricted: only Mondays on odd dates
])
def test_the_longest_gap_reads_names_and_both_day_rules(schedule: str, hours: int) -> None:
    assert max_gap_seconds(schedule) == hours * 3600


def test_actionlint_agrees(tmp_path: Path) -> None:
    """Every schedule accepted here passes actionlint (robfig/cron, the parser Kubernetes uses)."""
    actionlint = require_tool("actionlint")
    workflow = tmp_path / ".github" / "workflows" / "cron.yml"
    workflow.parent.mkdir(parents=True)
    schedules = "".join(f"    - cron: '{schedule}'\n" for schedule in ACCEPTED)
    workflow.write_text("on:\n  schedule:\n" + schedules + "jobs:\n  a:\n    runs-on: ubuntu-24.04\n"
                        "    steps:\n      - run: echo\n")
    result = subprocess.run([actionlint, "-shellcheck=", "-oneline", str(workflow)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout
    workflow.write_text(workflow.read_text().replace("'0 0 * * 0'", "'0 0 * * 7'"))
    refused = subprocess.run([actionlint, "-shellcheck=", "-oneline", str(workflow)],
                             capture_output=True, text=True, check=False)
    assert "end of range (7) above maximum (6)" in refused.stdout
