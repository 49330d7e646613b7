"""Extension points: compiler targets and release gates, found through entry points by one registry.

The built-in targets and gates are registered in this package's own `pyproject.toml`, exactly as a
third-party package registers one, so a team adds a target or a gate by installing a package that
declares, e.g.:

    [project.entry-points."mlops.gates"]
    fairness = "acme_gates.fairness:GATE"

Both kinds go through the same `Registry`: one way to list what is registered (package metadata
only), one way to load an entry point (imported when its target or gate is used, and checked
against the kind's contract), one way to explain why one cannot be used (a located sentence, with
an install hint when a built-in lacks an optional dependency). A plugin that cannot be used raises
a `PluginError` naming it, so callers report it and carry on with the others.
"""

from __future__ import annotations

import importlib
import operator
import traceback
from dataclasses import dataclass
from functools import cache, cached_property
from importlib.metadata import Distribution, entry_points
from typing import Any

from .errors import MlopsError
from .version import DISTRIBUTION

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
    def module(self) -> str:
        return self.value.partition(":")[0].strip()

    @property
    def where(self) -> str:
        """'acme-gates 1.2 (acme_gates.fairness:GATE)', for messages."""
        return f"{f'{self.distribution} {self.version}'.strip()} ({self.value})"


@dataclass(frozen=True)
class Kind:
    """What one kind of plugin is: its entry-point group, the object an entry point names by
    default, the method that object must have (with a `name` equal to the entry point's), the
    protocol it follows (for messages), the order of the built-ins, and the extra that installs
    what the built-ins import."""

    noun: str
    group: str
    attribute: str
    method: str
    protocol: str
    order: tuple[str, ...]
    extra: str | None = None


@dataclass(frozen=True)
class Status:
    """One registered plugin and why it cannot be used (None: it loads)."""

    registration: Registration
    problem: str | None


@dataclass(frozen=True)
class Loaded:
    """Every usable plugin of a kind, in order, and a sentence per one left out."""

    plugins: tuple[Any, ...]
    broken: tuple[str, ...]


class Registry:
    """The registered plugins of one kind: listed from metadata, loaded on demand, explained."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind

    @cached_property
    def registered(self) -> dict[str, Registration]:
        """The entry points by name: the built-in order first, the rest alphabetically.

        When two distributions claim one name, the built-in one wins, else the first found on
        sys.path; `conflicts` says which were ignored.
        """
        found: dict[str, Registration] = {}
        for registration in _scan(self.kind.group):
            found.setdefault(registration.name, registration)
        preferred = {name: index for index, name in enumerate(self.kind.order)}
        ranked = sorted(found, key=lambda name: (preferred.get(name, len(preferred)), name))
        return {name: found[name] for name in ranked}

    def names(self) -> tuple[str, ...]:
        return tuple(self.registered)

    def conflicts(self) -> list[str]:
        """A sentence per entry point ignored because another distribution took its name first."""
        winners: dict[str, Registration] = {}
        result = []
        for registration in _scan(self.kind.group):
            winner = winners.setdefault(registration.name, registration)
            if winner.value != registration.value:
                result.append(f"{self._title(registration)}: ignored, the name is already "
                              f"registered by {winner.where}")
        return result

    def load(self, name: str) -> Any:
        """The plugin registered as `name`; MlopsError for an unknown name, PluginError (located,
        with an install hint for a built-in's missing dependency) for one that cannot be used."""
        registration = self.registered.get(name)
        if registration is None:
            noun = self.kind.noun
            raise MlopsError(f"unknown {noun} '{name}'; the {noun}s are {', '.join(self.names())}")
        try:
            return self._import(registration)
        except PluginError:
            raise
        except ModuleNotFoundError as error:
            if registration.builtin:
                raise self._not_installed(registration, error) from None
            raise self._unimportable(registration, error) from None
        except Exception as error:  # a plugin may raise anything on import
            raise self._unimportable(registration, error) from None

    def statuses(self) -> list[Status]:
        """Every registered plugin, loaded, and why each that cannot be used cannot."""
        return [Status(registration, self._attempt(name)[1])
                for name, registration in self.registered.items()]

    def load_all(self) -> Loaded:
        """The usable plugins in order; ignored and broken ones become sentences instead."""
        plugins, broken = [], self.conflicts()
        for name in self.registered:
            plugin, problem = self._attempt(name)
            if problem is None:
                plugins.append(plugin)
            else:
                broken.append(problem)
        return Loaded(tuple(plugins), tuple(broken))

    def _attempt(self, name: str) -> tuple[Any, str | None]:
        """(plugin, None) when usable, else (None, the sentence saying why not)."""
        try:
            return self.load(name), None
        except PluginError as error:
            return None, str(error)

    def _import(self, registration: Registration) -> Any:
        """Import the entry point's object and check it against the kind's contract."""
        module = importlib.import_module(registration.module)
        attribute = registration.value.partition(":")[2].strip() or self.kind.attribute
        try:
            obj = operator.attrgetter(attribute)(module)
        except AttributeError as error:
            raise PluginError(f"{self._title(registration)}: {error}") from None
        problem = self._contract_problem(obj, registration)
        if problem:
            raise PluginError(f"{self._title(registration)}: {problem}")
        return obj

    def _not_installed(self, registration: Registration, error: ModuleNotFoundError) -> PluginError:
        """A built-in whose module, or a package it imports, is not installed."""
        missing, noun = error.name or "", self.kind.noun
        if missing.partition(".")[0] == "mlops":
            return PluginError(f"the {registration.name} {noun} is not available in this "
                               f"installation (module {missing} is missing)")
        return PluginError(f"the {registration.name} {noun} needs the Python package '{missing}'; "
                           f"{install_hint(self.kind.extra)}")

    def _unimportable(self, registration: Registration, error: Exception) -> PluginError:
        return PluginError(f"{self._title(registration)}: cannot be imported: {describe(error)}")

    def _title(self, registration: Registration) -> str:
        return f"{self.kind.noun} plugin '{registration.name}' from {registration.where}"

    def _contract_problem(self, obj: object, registration: Registration) -> str | None:
        method = getattr(obj, self.kind.method, None)
        if not callable(method):
            return (f"'{type(obj).__name__}' object has no {self.kind.method}() method; expected "
                    f"an object following {self.kind.protocol}")
        name = getattr(obj, "name", None)
        if name != registration.name:
            return (f"its name is {name!r} but it is registered as '{registration.name}'; the two "
                    "must match")
        return None


def install_hint(extra: str | None) -> str:
    """What to install for a missing dependency of mlops itself (of one extra, or the base)."""
    if extra is None:
        return f"reinstall mlops: pip install '{DISTRIBUTION}'"
    return f"install the {extra} extra: pip install '{DISTRIBUTION}[{extra}]'"


def describe(error: BaseException) -> str:
    """'path/to/module.py:3: RuntimeError: boom' - the innermost frame, where the plugin failed."""
    if isinstance(error, SyntaxError) and error.filename:
        return f"{error.filename}:{error.lineno}: SyntaxError: {error.msg}"
    frames = traceback.extract_tb(error.__traceback__)
    outside = [f for f in frames if "importlib" not in f.filename and f.filename != __file__]
    where = f"{outside[-1].filename}:{outside[-1].lineno}: " if outside else ""
    return f"{where}{type(error).__name__}: {error}"


@cache
def _scan(group: str) -> tuple[Registration, ...]:
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


TARGETS = Registry(Kind(
    noun="target", group="mlops.targets", attribute="TARGET", method="render",
    protocol="mlops.compiler.plan.Target",
    # render order of the built-ins (the output is sorted anyway)
    order=("schema", "github_actions", "docker", "kubernetes", "monitoring", "load"),
))
"""Compiler targets: `mlops compile` renders every usable one (`mlops.compiler.targets`)."""
GATES = Registry(Kind(
    noun="gate", group="mlops.gates", attribute="GATE", method="run",
    protocol="mlops.harness.gate.Gate",
    # run order of `mlops gate all` and `mlops release`: cheap gates first, so bad data fails fast
    order=("data", "model", "bench", "load", "checks"), extra="gate",
))
"""Release gates: `mlops gate NAME` loads one, `mlops release` all (`mlops.harness.registry`)."""
