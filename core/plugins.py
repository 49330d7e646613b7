"""Extension points: compiler targets and release gates are found through entry points.

The built-in targets and gates are registered in this package's own `pyproject.toml`, exactly as a
third-party package registers one, so a team adds a target or a gate by installing a package that
declares, e.g.:

    [project.entry-points."mlops.gates"]
    fairness = "acme_gates.fairness:GATE"

Listing what is registered reads package metadata only; an entry point is imported when its target
or gate is used. A plugin that cannot be imported, or is not the right kind of object, raises a
`PluginError` naming it, so callers can report it and carry on with the others.
"""

from __future__ import annotations

import importlib
import operator
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import Distribution, entry_points
from typing import Any

from .errors import MlopsError
from .version import DISTRIBUTION

TARGETS = "mlops.targets"
GATES = "mlops.gates"
OWN_DISTRIBUTION = DISTRIBUTION


class PluginError(MlopsError):
    """A registered target or gate that cannot be used; the message names it and says why."""


@dataclass(frozen=True)
class Registration:
    """One entry point: `name = "module:attribute"`, declared by `distribution`."""

    group: str
    name: str
    value: str
    distribution: str
    version: str

    @property
    def builtin(self) -> bool:
        return self.distribution == OWN_DISTRIBUTION

    @property
    def where(self) -> str:
        """'acme-gates 1.2 (acme_gates.fairness:GATE)', for messages."""
        return f"{f'{self.distribution} {self.version}'.strip()} ({self.value})"


@dataclass(frozen=True)
class Contract:
    """What a group's objects must provide: a `name` equal to the entry point's, and a method."""

    kind: str
    attribute: str
    method: str
    protocol: str


def registrations(group: str, order: Iterable[str] = ()) -> dict[str, Registration]:
    """The group's entry points by name: names in `order` first, the rest alphabetically.

    When two distributions claim one name, the built-in one wins, else the first found on
    sys.path; `conflicts` says which were ignored.
    """
    found: dict[str, Registration] = {}
    for registration in _all(group):
        found.setdefault(registration.name, registration)
    preferred = {name: index for index, name in enumerate(order)}
    ranked = sorted(found, key=lambda name: (preferred.get(name, len(preferred)), name))
    return {name: found[name] for name in ranked}


def conflicts(group: str, contract: Contract) -> list[str]:
    """A sentence per entry point ignored because another distribution took its name first."""
    winners: dict[str, Registration] = {}
    result = []
    for registration in _all(group):
        winner = winners.setdefault(registration.name, registration)
        if winner.value != registration.value:
            result.append(f"{_title(registration, contract)}: ignored, the name is already "
                          f"registered by {winner.where}")
    return result


@cache
def _all(group: str) -> tuple[Registration, ...]:
    """Scanned once per process: the scan reads every installed distribution."""
    result = []
    described: dict[Distribution, tuple[str, str]] = {}
    for point in entry_points(group=group):
        dist = point.dist
        if dist is None:
            name, version = "(unknown distribution)", ""
        elif dist in described:
            name, version = described[dist]
        else:  # parsing METADATA is the slow part; a distribution registers several names
            metadata = dist.metadata
            name, version = described.setdefault(dist, (metadata["Name"], metadata["Version"]))
        result.append(Registration(group, point.name, point.value, name, version))
    return tuple(sorted(result, key=lambda registration: not registration.builtin))  # built-ins win


def load(registration: Registration, contract: Contract) -> Any:
    """Import the entry point's object and check it against the contract.

    Import problems propagate unchanged (callers may map a missing optional dependency to an
    install hint); a wrong kind of object raises `PluginError`.
    """
    module_name, _, attribute = registration.value.partition(":")
    module = importlib.import_module(module_name.strip())
    try:
        obj = operator.attrgetter(attribute.strip() or contract.attribute)(module)
    except AttributeError as error:
        raise PluginError(f"{_title(registration, contract)}: {error}") from None
    problem = _contract_problem(obj, registration, contract)
    if problem:
        raise PluginError(f"{_title(registration, contract)}: {problem}")
    return obj


def load_or_explain(registration: Registration, contract: Contract) -> tuple[Any, str | None]:
    """(object, None) when usable, else (None, a located sentence saying why not)."""
    try:
        return load(registration, contract), None
    except PluginError as error:
        return None, str(error)
    except Exception as error:  # a plugin may raise anything on import; it must not stop the others
        return None, str(unimportable(registration, contract, error))


def unimportable(registration: Registration, contract: Contract, error: Exception) -> PluginError:
    """The error for a plugin whose module raised on import."""
    return PluginError(f"{_title(registration, contract)}: cannot be imported: {describe(error)}")


def describe(error: BaseException) -> str:
    """'path/to/module.py:3: RuntimeError: boom' - the innermost frame, where the plugin failed."""
    if isinstance(error, SyntaxError) and error.filename:
        return f"{error.filename}:{error.lineno}: SyntaxError: {error.msg}"
    frames = traceback.extract_tb(error.__traceback__)
    outside = [f for f in frames if "importlib" not in f.filename and f.filename != __file__]
    where = f"{outside[-1].filename}:{outside[-1].lineno}: " if outside else ""
    return f"{where}{type(error).__name__}: {error}"


def _title(registration: Registration, contract: Contract) -> str:
    return f"{contract.kind} plugin '{registration.name}' from {registration.where}"


def _contract_problem(obj: object, registration: Registration, contract: Contract) -> str | None:
    method = getattr(obj, contract.method, None)
    if not callable(method):
        return (f"'{type(obj).__name__}' object has no {contract.method}() method; expected an "
                f"object following {contract.protocol}")
    name = getattr(obj, "name", None)
    if name != registration.name:
        return (f"its name is {name!r} but it is registered as '{registration.name}'; the two must "
                "match")
    return None
