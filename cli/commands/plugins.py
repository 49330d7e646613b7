"""`mlops plugins`: which compiler targets and release gates are installed, and whether each loads.

Every registered entry point is imported, so a broken plugin shows up here (exit 1) before a
compile or a release trips over it.
"""

from __future__ import annotations

import click

from mlops.core.plugins import GATES, TARGETS, Registry, Status


def _section(title: str, registry: Registry, rows: list[Status]) -> list[str]:
    lines = [f"{title} (entry points '{registry.kind.group}'):"]
    if not rows:
        lines.append("  (none)")
    width = max((len(row.registration.name) for row in rows), default=0)
    for row in rows:
        status = "ok" if row.problem is None else "broken"
        lines.append(f"  {row.registration.name:<{width}}  {status:<6}  {row.registration.where}")
        if row.problem is not None:
            lines.append(f"      {row.problem}")
    lines += [f"  ignored: {sentence}" for sentence in registry.conflicts()]
    return lines


@click.command()
def plugins() -> int:
    """List installed compiler targets and release gates, their distribution and status."""
    lines, broken = [], []
    for title, registry in (("targets", TARGETS), ("gates", GATES)):
        rows = registry.statuses()
        lines += _section(title, registry, rows)
        broken += [row.registration.name for row in rows if row.problem is not None]
    click.echo("\n".join(lines))
    if broken:
        click.echo(f"{len(broken)} plugin(s) cannot be used: {', '.join(broken)}", err=True)
        return 1
    return 0
