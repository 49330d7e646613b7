"""The in-cluster load test run for real: the generated Jobs' own commands as local processes.

`mlops compile` writes the example's Kubernetes tree; the test reads the Locust master's and
workers' containers (command and environment) from the generated YAML and runs them as processes
on 127.0.0.1, one master and two workers, with the ConfigMap's files in a folder standing in for
its mount. Only what a Job also sets is changed: the environment variables naming the server and
the master (LOCUST_HOST, the master's port). Against the real `mlops serve` the master exits 0 and
prints the SLO verdicts; behind a proxy that delays each prediction by 200 ms (p95 SLO < 200 ms)
it exits 1 naming the p95 SLO, and so does the canary analysis Job's pod (master and workers in
one pod) from the production AnalysisTemplate.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops.compiler.targets.kubernetes_load import MOUNT
from tests.harness.model_helpers import project
from tests.specs import edit_spec

pytestmark = pytest.mark.slow

FAULT_SERVER = Path(__file__).resolve().parents[1] / "harness" / "load" / "fault_server.py"
LOCUST = Path(sys.executable).with_name("locust")
# p95 < 200 ms: a clean server answers in a few ms (up to ~130 ms at p95 with both cores busy);
# behind the 200 ms proxy every prediction takes at least 200 ms.
LOAD = {"users": 2, "spawn_rate": 2, "duration": "5s",
        "thresholds": {"p95_ms": "< 200", "error_rate": "< 0.01"},
        "cluster": {"workers": 2, "rows": 100}}
RUN_TIMEOUT_S = 90


@dataclass(frozen=True)
class Container:
    name: str
    command: list[str]
    env: dict[str, str]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/v2/health/ready", timeout=2):
                return
        except (urllib.error.URLError, OSError):
            assert process.poll() is None, f"the server for {url} exited"
            assert time.monotonic() < deadline, f"{url} did not become ready"
            time.sleep(0.2)


def containers(pod: dict[str, Any]) -> list[Container]:
    return [Container(c["name"], c["command"], {e["name"]: e["value"] for e in c["env"]})
            for c in pod["containers"]]


@dataclass(frozen=True)
class Compiled:
    spec: Path
    jobs: list[dict[str, Any]]
    analysis: dict[str, Any]
    mount: Path


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    """The example with a short load test in the cluster, compiled by the real CLI; the load
    ConfigMap's files written where its mount would be."""
    folder = tmp_path_factory.mktemp("cluster-load")
    spec = edit_spec(project(folder / "example"), {"load": LOAD})
    done = subprocess.run([sys.executable, "-m", "mlops", "compile", str(spec)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    k8s = spec.parent / "generated" / "k8s"
    config = yaml.safe_load((k8s / "load" / "config" / "configmap.yaml").read_text())
    mount = folder / "mount"
    mount.mkdir()
    for name, text in config["data"].items():
        (mount / name).write_text(text, encoding="utf-8")
    jobs = list(yaml.safe_load_all((k8s / "load" / "staging" / "jobs.yaml").read_text()))
    template = yaml.safe_load((k8s / "overlays" / "production" / "analysistemplate.yaml").read_text())
    metric = next(m for m in template["spec"]["metrics"] if "job" in m["provider"])
    return Compiled(spec, jobs, metric["provider"]["job"], mount)


@pytest.fixture(scope="module")
def servers(compiled: Compiled, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[dict[str, str]]:
    """The real `mlops serve`, and a second one behind a proxy adding 200 ms per prediction."""
    run_dir = tmp_path_factory.mktemp("servers")
    port, slow_port = free_port(), free_port()
    processes = [
        subprocess.Popen([sys.executable, "-m", "mlops", "serve", str(compiled.spec), "--host",
                          "127.0.0.1", "--port", str(port), "--no-access-log"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, str(FAULT_SERVER), "--port", str(slow_port), "--spec",
                          str(compiled.spec), "--run-dir", str(run_dir), "--delay-ms", "200"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    urls = {"fast": f"http://127.0.0.1:{port}", "slow": f"http://127.0.0.1:{slow_port}"}
    try:
        for url, process in zip(urls.values(), processes, strict=True):
            wait_ready(url, process)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)


def local(container: Container, mount: Path) -> list[str]:
    """The container's command as a local process: the same program, the mount's folder."""
    assert container.command[0] == "locust"
    return [str(LOCUST), *(part.replace(MOUNT, str(mount)) for part in container.command[1:])]


def start(started: list[tuple[list[str], dict[str, str]]], cwd: Path
          ) -> list[subprocess.Popen[str]]:
    """Start the master (first) and the workers, in a folder without a locust.conf of its own."""
    cwd.mkdir(exist_ok=True)
    return [subprocess.Popen(command, cwd=cwd, env={**os.environ, **env}, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            for command, env in started]


def finish(procs: list[subprocess.Popen[str]]) -> tuple[int, str, list[int]]:
    """The master's exit code and output, and the workers' exit codes (they stop with it)."""
    try:
        output, _ = procs[0].communicate(timeout=RUN_TIMEOUT_S)
        workers = [proc.wait(timeout=20) for proc in procs[1:]]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
    return procs[0].returncode, output, workers


def job_processes(compiled: Compiled, url: str) -> list[tuple[list[str], dict[str, str]]]:
    """The master Job's and the worker Job's containers (one master, two workers), aimed at `url`."""
    master_job, worker_job = compiled.jobs
    master = containers(master_job["spec"]["template"]["spec"])[0]
    worker = containers(worker_job["spec"]["template"]["spec"])[0]
    assert worker_job["spec"]["parallelism"] == 2 and worker_job["spec"]["completions"] == 2
    port = str(free_port())
    master_env = {**master.env, "LOCUST_HOST": url, "LOCUST_MASTER_BIND_PORT": port}
    worker_env = {**worker.env, "LOCUST_MASTER_NODE_HOST": "127.0.0.1",
                  "LOCUST_MASTER_NODE_PORT": port}
    command = local(master, compiled.mount)
    return [(command, master_env), *[(local(worker, compiled.mount), worker_env)] * 2]


def analysis_processes(compiled: Compiled, url: str) -> list[tuple[list[str], dict[str, str]]]:
    """The canary analysis Job's one pod: its master and worker containers, aimed at `url`."""
    pod = containers(compiled.analysis["spec"]["template"]["spec"])
    port = str(free_port())
    started = []
    for container in pod:
        env = dict(container.env)
        if "LOCUST_HOST" in env:
            env.update(LOCUST_HOST=url, LOCUST_MASTER_BIND_PORT=port)
        else:
            assert env["LOCUST_MASTER_NODE_HOST"] == "127.0.0.1"
            env["LOCUST_MASTER_NODE_PORT"] = port
        started.append((local(container, compiled.mount), env))
    assert [c.name for c in pod] == ["master", "worker-0", "worker-1"]
    return started


def test_the_jobs_pass_a_fast_server(compiled: Compiled, servers: dict[str, str],
                                     tmp_path: Path) -> None:
    code, output, workers = finish(start(job_processes(compiled, servers["fast"]), tmp_path / "run"))
    assert code == 0, output
    assert workers == [0, 0], output
    assert "SLO met: p95 latency" in output, output
    assert "SLO met: error rate" in output, output
    assert "Aggregated" in output  # Locust's summary table: the report in the Job's log


def test_the_jobs_and_the_canary_analysis_fail_a_slow_server(
        compiled: Compiled, servers: dict[str, str], tmp_path: Path) -> None:
    # One after the other: six Locust processes at once can starve the workers of a busy
    # machine's CPU until the run is over, and a run without requests says nothing about SLOs.
    for label, started in (("jobs", job_processes(compiled, servers["slow"])),
                           ("canary analysis", analysis_processes(compiled, servers["slow"]))):
        code, output, workers = finish(start(started, tmp_path / label.replace(" ", "-")))
        assert code == 1, f"{label}:\n{output}"
        assert workers == [0, 0], f"{label}:\n{output}"
        assert "SLO failed: p95 latency" in output, f"{label}:\n{output}"
