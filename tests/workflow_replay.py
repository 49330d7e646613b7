"""Replay a generated GitHub Actions job on this machine, as a runner would run it.

`replay(workflow, project, wheels, job="gates")` takes the job's steps in order and runs every
`run:` step with bash in `project` (the checkout), inside a fresh virtualenv that starts with
nothing but pip: whatever the steps install is all the job gets, so a package the workflow forgets
to install fails here as it would on GitHub. pip finds mlops itself in `wheels` (a wheel built from
this checkout, `build_wheel`), so the workflow's own install line (`mlops-yaml[...]==X.Y.Z`)
resolves to the code under test. GitHub's environment files and variables are stubbed in a
temporary folder; `actions/checkout` is the project folder itself, `actions/setup-python` is the
fresh virtualenv, and other actions (uploads, comments) are not replayed.

With `venvs` (a session's `VenvCache`), the venv of a job whose install line an earlier replay
already installed starts as that install left it (tests/replay_venvs.py) instead of empty, and the
install step runs again on it: the same venv, without installing the same distributions again.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from tests.replay_venvs import VenvCache, VenvSlot, install_key

DEFAULT_SHELL = "bash -e {0}"
"""What GitHub runs a Linux `run:` step with when neither the step nor the job names a shell."""
SHELLS = {"bash": "bash --noprofile --norc -eo pipefail {0}", "sh": "sh -e {0}"}
REPLAYED_ACTIONS = ("actions/checkout@", "actions/setup-python@")


@dataclass(frozen=True)
class StepResult:
    name: str
    command: str
    returncode: int | None
    """None: the step did not run (see `note`)."""
    output: str = ""
    seconds: float = 0.0
    note: str = ""

    @property
    def ran(self) -> bool:
        return self.returncode is not None


@dataclass
class ReplayResult:
    """What happened to each step, the step summary, and what got installed."""

    job: str
    steps: list[StepResult] = field(default_factory=list)
    summary: str = ""
    venv: Path = Path()
    installed: dict[str, str] = field(default_factory=dict)
    """Distribution name (lowercase) -> version, in the virtualenv after the job."""

    @property
    def ok(self) -> bool:
        return all(step.returncode in (None, 0) for step in self.steps)

    def step(self, name: str) -> StepResult:
        return next(step for step in self.steps if step.name == name)

    def __str__(self) -> str:
        """Every step's outcome, and the output of those that failed (for assertion messages)."""
        lines = [f"job {self.job}:"]
        for step in self.steps:
            status = step.note if not step.ran else f"exit {step.returncode} in {step.seconds:.0f} s"
            lines.append(f"  {step.name}: {status}")
            if step.ran and step.returncode:
                lines.append("    " + step.output[-4000:].replace("\n", "\n    "))
        return "\n".join(lines)


def build_wheel(source: Path, wheels: Path) -> Path:
    """`pip wheel --no-deps` of `source` into `wheels`; returns the wheel."""
    wheels.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                           "--wheel-dir", str(wheels), str(source)], capture_output=True,
                          text=True, timeout=600, check=False)
    if done.returncode:  # pip's reason (a commit during the build changes the version, say)
        raise RuntimeError(f"pip wheel {source} failed:\n{done.stderr[-3000:]}")
    return max(wheels.glob("*.whl"), key=lambda wheel: wheel.stat().st_mtime)


def replay(workflow: Path, project: Path, wheels: Path, job: str | None = None, *,
           env: Mapping[str, str] | None = None, step_timeout: float = 1800,
           venvs: VenvCache | None = None) -> ReplayResult:
    """Run `job` (default: the workflow's first) of `workflow` in `project`; see the module doc."""
    document: dict[str, Any] = YAML(typ="safe").load(workflow.read_text())
    jobs: dict[str, Any] = document["jobs"]
    name = job or next(iter(jobs))
    spec = jobs[name]
    defaults = {**document.get("defaults", {}).get("run", {}),
                **spec.get("defaults", {}).get("run", {})}
    workdir = project / defaults.get("working-directory", ".")
    result = ReplayResult(name)
    install = _install_step(spec["steps"])
    with tempfile.TemporaryDirectory(prefix="replay-") as scratch, ExitStack() as stack:
        home = Path(scratch)
        slot: VenvSlot | None = None
        if venvs is not None and install is not None:
            step = spec["steps"][install]
            cwd = workdir / step.get("working-directory", ".")
            key = install_key(str(step["run"]), cwd, wheels, {**(env or {}), **_step_env(step)})
            slot = stack.enter_context(venvs.use(key))
        result.venv = slot.venv if slot else home / "venv"
        files = _github_files(home)
        variables = _environment(result.venv, project, wheels, files, env or {})
        failed = False
        outputs: dict[str, dict[str, str]] = {}
        for index, step in enumerate(spec["steps"]):
            title = step.get("name") or step.get("uses") or f"step {index + 1}"
            if not _should_run(step.get("if"), failed, outputs):
                result.steps.append(StepResult(title, step.get("run", ""), None,
                                               note=f"skipped (if: {step.get('if', 'success()')})"))
                continue
            if "uses" in step:
                result.steps.append(_action(title, step, result.venv, slot))
                continue
            files["GITHUB_OUTPUT"].write_text("")  # every step gets a fresh output file
            outcome = _run(title, step, defaults, workdir, {**variables, **_step_env(step)},
                           home, step_timeout)
            result.steps.append(outcome)
            if slot and index == install and outcome.returncode == 0:
                slot.keep()
            if "id" in step:
                outputs[str(step["id"])] = _outputs(files["GITHUB_OUTPUT"])
            failed = failed or outcome.returncode != 0
        result.summary = files["GITHUB_STEP_SUMMARY"].read_text()
        result.installed = _installed(result.venv)
    return result


def _install_step(steps: list[dict[str, Any]]) -> int | None:
    """The index of the step that installs into setup-python's venv (the first `run:` after it),
    if the job sets up Python."""
    setup = next((i for i, step in enumerate(steps)
                  if str(step.get("uses", "")).startswith("actions/setup-python@")), None)
    if setup is None:
        return None
    return next((i for i, step in enumerate(steps) if i > setup and "run" in step), None)


def _github_files(home: Path) -> dict[str, Path]:
    """The files GitHub hands every step (outputs, env, path, summary), empty."""
    files = {key: home / "github" / key.lower() for key in
             ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STATE")}
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    (home / "runner-temp").mkdir()
    return files


def _environment(venv_dir: Path, project: Path, wheels: Path, files: dict[str, Path],
                 extra: Mapping[str, str]) -> dict[str, str]:
    """A runner's environment: the fresh venv's bin first (what setup-python puts on PATH), GitHub's
    variables, and pip finding mlops in `wheels`. Nothing of this test process's venv leaks in."""
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep)
            if p and Path(p).resolve() != Path(sys.executable).parent.resolve()]
    keep = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "TMPDIR", "USER") or
            k.startswith(("PIP_", "LC_"))}
    return {
        **keep,
        "PATH": os.pathsep.join([str(venv_dir / "bin"), *path]),
        "VIRTUAL_ENV": str(venv_dir),
        "PIP_FIND_LINKS": str(wheels),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(project),
        "GITHUB_REPOSITORY": "acme/replayed",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "1",
        "GITHUB_EVENT_NAME": "pull_request",
        "RUNNER_OS": "Linux",
        "RUNNER_TEMP": str(files["GITHUB_STEP_SUMMARY"].parent.parent / "runner-temp"),
        **{key: str(path) for key, path in files.items()},
        **extra,
    }


_OUTPUT_TEST = re.compile(r"^steps\.([\w-]+)\.outputs\.([\w-]+)\s*(==|!=)\s*'([^']*)'$")


def _should_run(condition: str | None, failed: bool,
                outputs: Mapping[str, Mapping[str, str]]) -> bool:
    """The `if:` forms the generated workflows use (status functions, a step output compared with
    a literal); anything else is a replay the helper cannot do faithfully, so it says so."""
    if condition is None:
        return not failed
    text = condition.strip().removeprefix("${{").removesuffix("}}").strip()
    if text in ("always()", "!cancelled()"):
        return True
    if text == "success()":
        return not failed
    if text == "failure()":
        return failed
    match = _OUTPUT_TEST.match(text)
    if match:
        step, name, op, literal = match.groups()
        value = outputs.get(step, {}).get(name, "")
        return not failed and ((value == literal) == (op == "=="))
    raise ValueError(f"cannot replay a step with `if: {condition}`")


def _outputs(path: Path) -> dict[str, str]:
    """`key=value` lines a step appended to $GITHUB_OUTPUT."""
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def _step_env(step: dict[str, Any]) -> dict[str, str]:
    values = {str(k): str(v) for k, v in (step.get("env") or {}).items()}
    for key, value in values.items():
        if "${{" in value:
            raise ValueError(f"cannot replay env {key}={value!r}: GitHub expressions are not "
                             "evaluated here")
    return values


def _action(title: str, step: dict[str, Any], venv_dir: Path, slot: VenvSlot | None
            ) -> StepResult:
    uses = str(step["uses"])
    if uses.startswith("actions/setup-python@"):
        wanted = str((step.get("with") or {}).get("python-version", ""))
        have = f"{sys.version_info.major}.{sys.version_info.minor}"
        if wanted and wanted != have:
            raise ValueError(f"the workflow sets up Python {wanted}; this replay runs {have}")
        if slot is not None and slot.prepare():
            return StepResult(title, uses, None, note=f"virtualenv as its install line left it, "
                                                      f"Python {have}")
        if slot is None:
            venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
        return StepResult(title, uses, None, note=f"fresh virtualenv, Python {have}")
    if uses.startswith("actions/checkout@"):
        return StepResult(title, uses, None, note="the project folder is the checkout")
    return StepResult(title, uses, None, note="action not replayed")


def _run(title: str, step: dict[str, Any], defaults: dict[str, Any], workdir: Path,
         variables: dict[str, str], home: Path, timeout: float) -> StepResult:
    script = str(step["run"])
    if "${{" in script:
        raise ValueError(f"cannot replay {title!r}: its run: holds a GitHub expression")
    shell = step.get("shell") or defaults.get("shell")
    template = SHELLS.get(shell, shell) if shell else DEFAULT_SHELL
    path = home / "step.sh"
    path.write_text(script)
    command = [part.replace("{0}", str(path)) for part in template.split()]
    cwd = workdir / step["working-directory"] if "working-directory" in step else workdir
    started = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=cwd, env=variables, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, errors="replace",
                              timeout=timeout)
    except subprocess.TimeoutExpired as error:
        output = error.output if isinstance(error.output, str) else ""
        return StepResult(title, script, -1, output + f"\n(timed out after {timeout} s)",
                          time.perf_counter() - started)
    return StepResult(title, script, done.returncode, done.stdout, time.perf_counter() - started)


def _installed(venv_dir: Path) -> dict[str, str]:
    python = venv_dir / "bin" / "python"
    if not python.exists():
        return {}
    listing = subprocess.run([str(python), "-m", "pip", "list", "--format", "freeze"],
                             capture_output=True, text=True, check=False).stdout
    return {name.lower(): version for name, version in
            (re.split(r"==|@", line, maxsplit=1) for line in listing.splitlines() if "==" in line)}
