"""Checks gate: a team's own pytest checks (`checks.path` in the spec), each test one check.

pytest runs in a subprocess from the spec's folder, so a check that crashes, hangs or leaks cannot
take the gate runner with it, with this package's fixtures (`-p mlops.harness.checks.pytest_plugin`) and JUnit
XML output, which becomes the gate's CheckResults. Whatever keeps tests from running - a missing
folder, a file that does not import, a plugin or conftest that raises, a timeout - becomes a
located `error` check rather than a traceback from mlops.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from mlops.harness.gate import GateOptions
from mlops.harness.result import CheckFactory, CheckResult, GateResult, Status
from mlops.spec.loader import LoadedSpec

NAME = "checks"
CHECK = CheckFactory(NAME)
TIMEOUT_S = 900.0
"""The whole pytest run; a team that needs longer splits its checks (spec field proposed)."""
GRACE_S = 5.0
_NO_TESTS = 5
_FRAME = re.compile(r"^(?P<file>[^\s:][^:]*\.py):(?P<line>\d+): ")
_PYTHON_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)')
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(: |$)")
_RUNNING = re.compile(r"^(?P<id>\S+::\S+) ?$")


@dataclass(frozen=True)
class PytestRun:
    """What the subprocess left: its exit code (None on timeout), output and JUnit XML."""

    code: int | None
    output: str
    junit: ET.Element | None


class ChecksGate:
    name = NAME

    def __init__(self, timeout_s: float = TIMEOUT_S) -> None:
        self.timeout_s = timeout_s

    def run(self, loaded: LoadedSpec, options: GateOptions) -> GateResult:
        settings = loaded.spec.checks
        if settings is None:
            return CHECK.only("checks", "skip", f"no checks section in {loaded.path}; add "
                                                "`checks: {path: checks}` to run the team's own "
                                                "pytest checks")
        if not loaded.resolve(settings.path).exists():
            where = loaded.source.diagnostic(("checks", "path"), f"folder not found: {settings.path}")
            return CHECK.only("checks.path", "error", str(where))
        with tempfile.TemporaryDirectory(prefix="mlops-checks-") as folder:
            run = _run_pytest(loaded, settings.path, Path(folder), self.timeout_s)
        root = loaded.root.resolve()
        cases = sorted(run.junit.iter("testcase"), key=_declared) if run.junit else []
        checks = [_from_case(case, root) for case in cases]
        problem = _run_problem(run, settings.path, self.timeout_s, root, bool(checks))
        return GateResult(gate=NAME, checks=checks + ([problem] if problem else []))


GATE = ChecksGate()


def _run_pytest(loaded: LoadedSpec, path: str, folder: Path, timeout_s: float) -> PytestRun:
    xml, log = folder / "junit.xml", folder / "pytest.log"
    command = [sys.executable, "-m", "pytest", path, "-p", "mlops.harness.checks.pytest_plugin",
               "--mlops-spec", str(loaded.path.resolve()), "--junitxml", str(xml),
               "-o", "junit_family=xunit1", "--rootdir", str(loaded.root.resolve()),
               "--continue-on-collection-errors", "-p", "no:cacheprovider", "-v", "--color=no"]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=loaded.root, stdout=output,
                                   stderr=subprocess.STDOUT, env=env, start_new_session=True)
    code: int | None
    try:
        code = process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        _stop_group(process)
        code = None
    junit = None
    if xml.is_file():
        try:
            junit = ET.parse(xml).getroot()
        except ET.ParseError:
            junit = None
    return PytestRun(code, log.read_text(errors="replace"), junit)


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to pytest and everything it started (a server fixture), then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(GRACE_S)
            break
        except subprocess.TimeoutExpired:
            continue
    process.wait()


def _declared(case: ET.Element) -> tuple[str, int, str]:
    """Checks in the order they are written (file, line), whatever order a plugin such as
    pytest-randomly ran them in: the same checks always give the same report."""
    line = case.get("line", "")
    return case.get("file", ""), int(line) if line.isdigit() else 0, case.get("name", "")


def _from_case(case: ET.Element, root: Path) -> CheckResult:
    """One JUnit <testcase> (xunit1: with its file) as a check named by its pytest node id."""
    file = case.get("file", "")
    classname, name = case.get("classname", ""), case.get("name", "")
    module = file.removesuffix(".py").replace("/", ".")
    inner = classname.removeprefix(module).strip(".").split(".") if classname else []
    node_id = "::".join([file or classname, *filter(None, inner), name]) if classname else (
        file or name)
    outcome = next((child for child in case if child.tag in ("failure", "error", "skipped")), None)
    if outcome is None:
        return CHECK(node_id, "pass", "passed")
    message = outcome.get("message", "")
    text = outcome.text or ""
    if outcome.tag == "skipped":
        kind = "xfailed" if outcome.get("type") == "pytest.xfail" else "skipped"
        return CHECK(node_id, "skip", f"{kind}: {message}" if message else kind)
    if not classname:  # a file that could not be collected
        located = _located(text, root) or message
        return CHECK(node_id, "error", f"{located} (collecting {file or name} failed, so none of "
                                       "its tests ran)", details=_traceback(text))
    where = _last_frame(text)
    status: Status = "fail" if outcome.tag == "failure" else "error"
    return CHECK(node_id, status, f"{where}: {message}" if where else message,
                 details=_traceback(text) if status == "error" else None)


def _run_problem(run: PytestRun, path: str, timeout_s: float, root: Path,
                 ran: bool) -> CheckResult | None:
    """An error check when pytest itself did not finish normally."""
    if run.code is None:
        running = [m.group("id") for m in map(_RUNNING.match, run.output.splitlines()) if m]
        during = f" while running {running[-1]}" if running else ""
        return CHECK("pytest", "error", f"the checks in {path} did not finish within "
                                        f"{timeout_s:g} s{during}; pytest was stopped")
    if run.code == _NO_TESTS:
        return CHECK("pytest", "error", f"pytest found no tests in {path} (files named test_*.py "
                                        "or *_test.py, functions named test_*)")
    if run.code in (0, 1) and (ran or run.junit is not None):
        return None
    headline = next((line.strip() for line in run.output.splitlines() if line.strip()), "")
    located = _located(run.output, root)
    details = "; ".join(_relative(part, root) for part in (headline, located) if part)
    return CHECK("pytest", "error", f"pytest could not run the checks in {path} (exit code "
                                    f"{run.code}): {details or 'no output'}",
                 details=_traceback(run.output[-4000:]))


def _located(text: str, root: Path) -> str | None:
    """'checks/test_x.py:3: SyntaxError: invalid syntax' from a pytest or Python traceback."""
    lines = text.splitlines()
    errors = [line[1:].strip() for line in lines if line.startswith("E ")]
    body = errors or [line.strip() for line in lines if line.strip()]
    first = next((i for i in range(len(body) - 1, -1, -1) if _EXCEPTION.match(body[i])), None)
    if first is None:
        return None
    error = " ".join(body[first:])
    frames = [m for m in map(_PYTHON_FRAME.search, errors) if m]
    if not frames:
        frames = [m for m in (_FRAME.match(line) or _PYTHON_FRAME.search(line) for line in lines)
                  if m]
    if not frames:
        return error
    return f"{_relative(frames[-1].group('file'), root)}:{frames[-1].group('line')}: {error}"


def _last_frame(text: str) -> str | None:
    """The 'file:line' pytest prints under a failure: where the assertion failed."""
    found = [m for m in map(_FRAME.match, text.splitlines()) if m]
    return f"{found[-1].group('file')}:{found[-1].group('line')}" if found else None


def _relative(text: str, root: Path) -> str:
    return text.replace(f"{root}{os.sep}", "")


def _traceback(text: str) -> dict[str, str]:
    """An error check keeps pytest's output for the report (a failed assertion's is its message)."""
    return {"traceback": text} if text else {}
