"""`mlops plugins`: which compiler targets and release gates are installed, and whether each loads.

Every registered entry point is imported, so a broken plugin shows up here (exit 1) before a
compile or a release trips over it.
"""

from __future__ import annotations

from dataclasses import dataclass

import click

from mlops.core.errors import MlopsError
from mlops.core.plugins import GATES, TARGETS, Registration, conflicts, load_or_explain, registrations


@dataclass(frozen=True)
class Row:
    registration: Registration
    problem: str | None


def _target_rows() -> tuple[list[Row], list[str]]:
    from mlops.compiler.targets import CONTRACT, ORDER

    rows = [Row(r, load_or_explain(r, CONTRACT)[1]) for r in registrations(TARGETS, ORDER).values()]
    return rows, conflicts(TARGETS, CONTRACT)


def _gate_rows() -> tuple[list[Row], list[str]]:
    from mlops.harness.registry import CONTRACT, ORDER, get_gate

    rows = []
    for name, registration in registrations(GATES, ORDER).items():
        try:
            get_gate(name)
        except MlopsError as error:
            rows.append(Row(registration, str(error)))
        else:
            rows.append(Row(registration, None))
    return rows, conflicts(GATES, CONTRACT)


def _section(title: str, group: str, rows: list[Row], ignored: list[str]) -> list[str]:
    lines = [f"{title} (entry points '{group}'):"]
    if not rows:
        lines.append("  (none)")
    width = max((len(row.registration.name) for row in rows), default=0)
    for row in rows:
        status = "ok" if row.problem is None else "broken"
        lines.append(f"  {row.registration.name:<{width}}  {status:<6}  {row.registration.where}")
        if row.problem is not None:
            lines.append(f"      {row.problem}")
    lines += [f"  ignored: {sentence}" for sentence in ignored]
    return lines


@click.command()
def plugins() -> int:
    """List installed compiler targets and release gates, their distribution and status."""
    targets, ignored_targets = _target_rows()
    gates, ignored_gates = _gate_rows()
    lines = [*_section("targets", TARGETS, targets, ignored_targets),
             *_section("gates", GATES, gates, ignored_gates)]
    click.echo("\n".join(lines))
    broken = [row.registration.name for row in targets + gates if row.problem is not None]
    if broken:
        click.echo(f"{len(broken)} plugin(s) cannot be used: {', '.join(broken)}", err=True)
        return 1
    return 0
