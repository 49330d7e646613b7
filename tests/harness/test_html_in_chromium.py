"""The HTML report as a person opens it: rendered by headless Chromium (Debian's `chromium`,
installed by scripts/install-tools.sh), whose DOM must show the overview before any per-check
table, and whose screenshot must be a real page, not a blank one."""

from __future__ import annotations

import struct
import subprocess
import zlib
from pathlib import Path

from mlops.harness.reports import write_reports
from tests.harness.report_samples import SUMMARY, release_report
from tests.tooling import require_tool

WINDOW = (1280, 1400)


def chromium(browser: str, profile: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Chromium headless, offline and sandbox-free (CI containers run as root), its own profile."""
    return subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         f"--user-data-dir={profile}", f"--window-size={WINDOW[0]},{WINDOW[1]}", *arguments],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def png_pixels(path: Path) -> tuple[int, int, bytes]:
    """Width, height and the decompressed scanlines of a PNG (no imaging library needed)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        kind = data[offset + 4:offset + 8]
        if kind == b"IDAT":
            chunks.append(data[offset + 8:offset + 8 + length])
        offset += 12 + length
    return width, height, zlib.decompress(b"".join(chunks))


def test_the_html_report_opens_on_its_overview(tmp_path: Path) -> None:
    browser = require_tool("chromium", "apt-get install chromium (scripts/install-tools.sh)")
    report = tmp_path / "reports" / "report.html"
    write_reports(release_report(), report.parent, ["html"])
    url = report.as_uri()

    dom = chromium(browser, tmp_path / "profile", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr
    page = dom.stdout
    overview = page.index('<table class="overview"')
    assert overview < page.index('<table class="checks"')  # before the first per-check table
    assert page.index(SUMMARY) > overview
    for gate in ("data", "model", "load"):
        assert f'<a href="#gate-{gate}">{gate}</a>' in page[overview:page.index("</table>", overview)]

    shot = tmp_path / "overview.png"
    done = chromium(browser, tmp_path / "profile", f"--screenshot={shot}", url)
    assert done.returncode == 0 and shot.is_file(), done.stderr
    width, height, pixels = png_pixels(shot)
    assert (width, height) == WINDOW
    assert shot.stat().st_size > 20_000  # a blank page compresses to a few KB
    assert len(set(pixels)) > 64  # text, badges and chart lines, not one colour
