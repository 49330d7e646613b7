"""A real installed distribution in a scratch folder: modules plus a `.dist-info` whose
entry_points.txt registers them, found by importlib.metadata once the folder is on PYTHONPATH.

This is what `pip install --target` leaves behind, without a build or a network.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def install(site: Path, name: str, version: str, entry_points: dict[str, dict[str, str]],
            modules: dict[str, str]) -> None:
    """Write `modules` ({file name: source}) and `<name>-<version>.dist-info` into `site`."""
    site.mkdir(parents=True, exist_ok=True)
    for filename, source in modules.items():
        (site / filename).write_text(source)
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    sections = [f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in points.items())
                for group, points in entry_points.items()]
    (info / "entry_points.txt").write_text("\n".join(sections))
    (info / "RECORD").write_text("")


def mlops(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real CLI with `site` on the path, as if the distributions there were installed."""
    env = {**os.environ, "PYTHONPATH": str(site), "CI": "true"}
    return subprocess.run([sys.executable, "-m", "mlops", *args], cwd=cwd, capture_output=True,
                          text=True, env=env, timeout=300)


EXTRA_TARGET = '''\
from mlops.compiler.plan import GeneratedFile, RenderContext


class ReadmeTarget:
    name = "extra"

    def render(self, ctx: RenderContext) -> list[GeneratedFile]:
        text = f"{ctx.loaded.spec.name} serves on port {ctx.loaded.spec.serving.port}\\n"
        return [GeneratedFile(ctx.output("extra", "model.txt"), text, origin=("serving", "port"))]


TARGET = ReadmeTarget()
VERSION = "1.0"
'''
RAISES_ON_IMPORT = '''\
import os

raise RuntimeError("this plugin is broken")
'''
