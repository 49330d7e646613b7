"""The server under load: `mlops serve` as a subprocess, or the built image as a container,
bound to 127.0.0.1 on a free port, and considered up only once its readiness probe answers.

Either can serve another ONNX file than the spec's (the load gate's baseline): the process is
given MLOPS_MODEL (`mlops serve --model`'s variable, so a wrapper that runs `mlops serve` passes it
on), the container gets the file mounted read-only and MLOPS_MODEL pointing at it.

Neither checks the model's signature (`--no-verify`): the gate measures a candidate, which the
release workflow signs only once it has passed, and a baseline read from git, which has none.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlops.core.telemetry import READY_PATH
from mlops.spec.loader import LoadedSpec

from .processes import ProcessGroup, free_port, tail

READY_TIMEOUT_S = 90.0
CONTAINER_MODEL = "/mlops-load/model.onnx"
DEFAULT_COMMAND = (
    "{python} -m mlops serve {spec} --host {host} --port {port} --no-access-log --no-verify "
    "--request-log-dir {run_dir}/request-log"
)


class ServerFailed(Exception):
    """The server did not start or never became ready; the message says why."""


def start_process(loaded: LoadedSpec, group: ProcessGroup, run_dir: Path, template: str | None = None,
                  *, model: Path | None = None) -> str:
    """Start the server with `template` (default: `mlops serve`) and return its base URL.

    The template's {python}, {spec}, {host}, {port} and {run_dir} are filled in, so a team can
    gate its own server command (or a test can put a fault-injecting wrapper in front). `model`
    replaces the spec's artifact (MLOPS_MODEL).
    """
    port = free_port()
    values = {"python": sys.executable, "spec": str(loaded.path.resolve()), "host": "127.0.0.1",
              "port": str(port), "run_dir": str(run_dir)}  # fmt: skip
    command = [word.format(**values) for word in shlex.split(template or DEFAULT_COMMAND)]
    log = run_dir / "server.log"
    env = {**os.environ, "MLOPS_MODEL": str(model.resolve())} if model is not None else None
    process = group.start(command, log=log, cwd=loaded.root.resolve(), env=env)
    url = f"http://127.0.0.1:{port}"

    def exited() -> str | None:
        code = process.poll()
        return None if code is None else f"exit code {code}"

    wait_ready(url, exited, lambda: tail(log))
    return url


@contextmanager
def container(image: str, run_dir: Path, *, model: Path | None = None) -> Iterator[str]:
    """Run `image` on the host network, told by MLOPS_HOST/MLOPS_PORT to bind 127.0.0.1 on a
    free port (works with Docker and with podman, which has no bridge here); always removed.
    `model` is mounted read-only and served instead of the image's own."""
    try:
        import docker
    except ModuleNotFoundError:
        raise ServerFailed("--target container needs the docker SDK: pip install docker") from None
    try:
        client: Any = docker.from_env()
    except docker.errors.DockerException as error:
        raise ServerFailed(f"no container engine reachable (set DOCKER_HOST): {error}") from None
    port = free_port()
    environment = {"MLOPS_HOST": "127.0.0.1", "MLOPS_PORT": str(port)}
    volumes = {}
    if model is not None:
        environment["MLOPS_MODEL"] = CONTAINER_MODEL
        volumes[str(model.resolve())] = {"bind": CONTAINER_MODEL, "mode": "ro"}
    try:
        running: Any = client.containers.run(
            image, ["--no-verify"], detach=True, network_mode="host", read_only=True,
            tmpfs={"/tmp": "rw,mode=1777", "/var/log/mlops": "rw,mode=1777"},
            environment=environment, volumes=volumes,
        )  # fmt: skip
    except docker.errors.DockerException as error:
        client.close()
        raise ServerFailed(f"cannot start image {image}: {error}") from None
    try:

        def exited() -> str | None:
            running.reload()
            return None if running.status in ("created", "running") else running.status

        def logs() -> str:
            text: bytes = running.logs(tail=15)
            return text.decode("utf-8", "replace")

        wait_ready(f"http://127.0.0.1:{port}", exited, logs)
        yield f"http://127.0.0.1:{port}"
    finally:
        (run_dir / "server.log").write_bytes(running.logs())
        running.remove(force=True)
        client.close()


def wait_ready(
    url: str,
    exited: Callable[[], str | None],
    logs: Callable[[], str],
    timeout: float = READY_TIMEOUT_S,
) -> None:
    """Poll the readiness endpoint until it answers 200; fail early if the server died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reason = exited()
        if reason is not None:
            raise ServerFailed(f"the server stopped before it was ready ({reason}):\n{logs()}")
        try:
            with urllib.request.urlopen(url + READY_PATH, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise ServerFailed(f"the server was not ready at {url}{READY_PATH} within {timeout:g} s:\n"
                       f"{logs()}")  # fmt: skip
