"""A replay that reuses an install line's venv starts from exactly what that install left, runs
the install step again, and never sees what an earlier replay did to the venv afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.replay_venvs import VenvCache
from tests.workflow_replay import replay

pytestmark = pytest.mark.slow  # two venvs with pip

# The install step notes whether it found its own earlier install; the next step proves that a
# file an earlier replay added after the install is gone, then adds it (or, with `WRITE_IN_PLACE`,
# appends to the installed file: a write through the snapshot's hard link, so the third
# replay installs afresh).
WORKFLOW = """\
jobs:
  gates:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/setup-python@v5
      - name: Install
        run: |
          if [ -e "$VIRTUAL_ENV/installed" ]; then echo again; else echo first; fi
          echo installed > "$VIRTUAL_ENV/installed"
      - name: Use
        run: |
          test ! -e "$VIRTUAL_ENV/later"
          touch "$VIRTUAL_ENV/later"
          if [ -n "$WRITE_IN_PLACE" ]; then echo more >> "$VIRTUAL_ENV/installed"; fi
"""


def test_a_replay_gets_the_venv_as_the_install_left_it_unless_a_replay_wrote_into_it(
        tmp_path: Path) -> None:
    (tmp_path / "ci.yml").write_text(WORKFLOW)
    (tmp_path / "wheels").mkdir()
    cache = VenvCache(tmp_path / "venvs")
    first, second, third = (
        replay(tmp_path / "ci.yml", tmp_path, tmp_path / "wheels", env=env, venvs=cache)
        for env in ({}, {"WRITE_IN_PLACE": "1"}, {}))
    assert first.ok and second.ok and third.ok, f"{first}\n{second}\n{third}"
    assert [r.steps[0].note.split(",")[0] for r in (first, second, third)] == [
        "fresh virtualenv", "virtualenv as its install line left it", "fresh virtualenv"]
    assert [r.step("Install").output for r in (first, second, third)] == [
        "first\n", "again\n", "first\n"]
    assert first.venv == second.venv == third.venv  # the fixed path its scripts' shebangs name
    assert "pip" in second.installed
