"""One plugin registry for targets and gates: the same loading, failure sentences and install hints
for both kinds (the CLI's view of them is tested in tests/functional/test_plugins_cli.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops.core.errors import MlopsError
from mlops.core.plugins import GATES, OWN_DISTRIBUTION, TARGETS, PluginError, Registration, Registry

REGISTRIES = {"target": TARGETS, "gate": GATES}
MODULES = {
    "needs_missing.py": "import acme_not_installed\n",
    "raises.py": "import os\n\nraise RuntimeError('boom')\n",
    "misnamed.py": "class Thing:\n    name = 'other'\n\n    def render(self): ...\n\n"
                   "    def run(self): ...\n\n\nTARGET = GATE = Thing()\n",
}


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, source in MODULES.items():
        (tmp_path / name).write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def register(monkeypatch: pytest.MonkeyPatch, registry: Registry, name: str, module: str,
             distribution: str = OWN_DISTRIBUTION) -> None:
    registration = Registration(registry.kind.group, name, module, distribution, "")
    monkeypatch.setitem(registry.registered, name, registration)


def failure(registry: Registry, name: str) -> str:
    with pytest.raises(PluginError) as error:
        registry.load(name)
    return str(error.value)


@pytest.mark.parametrize("noun", REGISTRIES)
def test_a_built_in_missing_a_package_says_what_to_install(
        noun: str, site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry = REGISTRIES[noun]
    register(monkeypatch, registry, "needy", "needs_missing")
    hint = {"target": "reinstall mlops: pip install 'mlops-yaml'",
            "gate": "install the gate extra: pip install 'mlops-yaml[gate]'"}[noun]
    assert failure(registry, "needy") == (
        f"the needy {noun} needs the Python package 'acme_not_installed'; {hint}")
    register(monkeypatch, registry, "ghost", "mlops.ghost")
    assert failure(registry, "ghost") == (
        f"the ghost {noun} is not available in this installation (module mlops.ghost is missing)")


@pytest.mark.parametrize("noun", REGISTRIES)
def test_an_installed_plugin_fails_with_the_same_sentences_for_both_kinds(
        noun: str, site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry = REGISTRIES[noun]
    attribute = registry.kind.attribute
    for name, module in (("needy", "needs_missing"), ("raises", "raises"), ("other", "misnamed")):
        register(monkeypatch, registry, name, f"{module}:{attribute}", "acme")
    title = f"{noun} plugin '{{}}' from acme ({{}}:{attribute})"
    assert failure(registry, "needy") == (
        f"{title.format('needy', 'needs_missing')}: cannot be imported: {site / 'needs_missing.py'}"
        ":1: ModuleNotFoundError: No module named 'acme_not_installed'")
    assert failure(registry, "raises") == (
        f"{title.format('raises', 'raises')}: cannot be imported: {site / 'raises.py'}:3: "
        "RuntimeError: boom")
    assert registry.load("other").name == "other"
    register(monkeypatch, registry, "renamed", f"misnamed:{attribute}", "acme")
    assert failure(registry, "renamed") == (
        f"{title.format('renamed', 'misnamed')}: its name is 'other' but it is registered as "
        "'renamed'; the two must match")


def test_statuses_and_load_all_explain_each_broken_plugin_once(
        site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    register(monkeypatch, GATES, "raises", "raises:GATE", "acme")
    statuses = {status.registration.name: status.problem for status in GATES.statuses()}
    assert statuses["data"] is None
    assert statuses["raises"] is not None and statuses["raises"].endswith("RuntimeError: boom")
    loaded = GATES.load_all()
    assert [gate.name for gate in loaded.plugins] == ["data", "model", "bench", "load", "checks"]
    assert loaded.broken == (statuses["raises"],)


def test_an_unknown_name_lists_the_registered_ones() -> None:
    with pytest.raises(MlopsError) as error:
        TARGETS.load("helm")
    assert str(error.value) == ("unknown target 'helm'; the targets are schema, github_actions, "
                                "docker, kubernetes, monitoring, load")
