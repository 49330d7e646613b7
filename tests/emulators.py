"""Google Cloud Storage and Azure Blob Storage on loopback, for the object-store dataset tests.

Each emulator is a real server on 127.0.0.1 (gcp-storage-emulator from PyPI, Azurite from npm),
started on a free port and stopped when its context ends. pyarrow reaches it through the
variables a team would set for its own account (core.object_stores), set for the context only:
- GCS: CLOUD_STORAGE_EMULATOR_ENDPOINT and GOOGLE_APPLICATION_CREDENTIALS naming a service-account
  key made here (Google's client signs its own token with it; the emulator does not check it).
- Azure: AZURE_STORAGE_CONNECTION_STRING with Azurite's documented development account.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from tests.tooling import require_tool

BUCKET = "mlops-data"
AZURITE_VERSION = "3.37.0"
AZURITE = Path.home() / ".cache" / "mlops" / f"azurite-{AZURITE_VERSION}"
"""Where `make azurite` (run by `make test` under CI=true) installs the npm package."""
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
               "KBHBeksoGMGw==")
"""Azurite's fixed development account and key (published in its documentation)."""
GCS_HINT = "pip install 'mlops-yaml[dev]' (gcp-storage-emulator)"
AZURITE_HINT = f"make azurite (npm install --prefix {AZURITE} azurite@{AZURITE_VERSION})"


@dataclass(frozen=True)
class Store:
    """An emulated object store holding the empty bucket (or container) BUCKET."""

    scheme: str
    filesystem: pafs.FileSystem
    environment: dict[str, str]
    """The variables that point pyarrow at it (set while the store runs)."""

    @property
    def uri(self) -> str:
        return f"{self.scheme}://{BUCKET}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def gcs_emulator(folder: Path) -> Iterator[Store]:
    """gcp-storage-emulator (in memory) on a free port; `folder` holds the key file."""
    emulator = require_tool("gcp-storage-emulator", GCS_HINT)
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    key = folder / "service-account.json"
    key.write_text(json.dumps(_service_account()))
    environment = {"CLOUD_STORAGE_EMULATOR_ENDPOINT": endpoint,
                   "GOOGLE_APPLICATION_CREDENTIALS": str(key)}
    command = [emulator, "start", "-H", "127.0.0.1", "--port", str(port), "--in-memory", "-q",
               "--default-bucket", BUCKET]
    with _running("gcp-storage-emulator", command, f"{endpoint}/storage/v1/b/{BUCKET}", folder,
                  environment):
        # a broken emulator fails the writes in seconds, not after Google's 15 minutes of retries
        filesystem = pafs.GcsFileSystem(retry_time_limit=timedelta(seconds=20))
        yield Store("gs", filesystem, environment)


@contextmanager
def azurite(folder: Path) -> Iterator[Store]:
    """Azurite's blob service (in memory) on a free port, with the container BUCKET."""
    local = AZURITE / "node_modules" / ".bin" / "azurite-blob"
    program = str(local) if local.exists() else require_tool("azurite-blob", AZURITE_HINT)
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    connection = (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
                  f"AccountKey={AZURITE_KEY};BlobEndpoint={endpoint}/{AZURITE_ACCOUNT};")
    environment = {"AZURE_STORAGE_CONNECTION_STRING": connection}
    command = [program, "--blobHost", "127.0.0.1", "--blobPort", str(port),
               "--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck", "--silent"]
    with _running("azurite", command, f"{endpoint}/{AZURITE_ACCOUNT}?comp=list", folder,
                  environment):
        from mlops.core.object_stores import azure_from_connection_string

        filesystem = azure_from_connection_string(connection)
        filesystem.create_dir(BUCKET)
        yield Store("abfs", filesystem, environment)


@contextmanager
def _running(name: str, command: list[str], probe: str, folder: Path,
             environment: dict[str, str]) -> Iterator[None]:
    """The server `command` running (answering `probe`) with `environment` set, then stopped."""
    process = subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        _wait_until_up(name, probe, process)
        with pytest.MonkeyPatch.context() as patch:
            for name, value in environment.items():
                patch.setenv(name, value)
            yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(name: str, url: str, process: subprocess.Popen[bytes]) -> None:
    """Until the server answers HTTP at all (an error status is an answer)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read().decode(errors="replace") if process.stderr else ""
            pytest.fail(f"{name} exited with {process.returncode}: {error}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"{name} did not answer at {url} within 30 s")


def _service_account() -> dict[str, str]:
    """A service-account key file of a made-up account: Google's client signs its own access
    token with the key (no token server is asked), which the emulator accepts unchecked."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {"type": "service_account", "project_id": "mlops-test", "private_key_id": "test",
            "private_key": pem, "client_email": "tests@mlops-test.iam.gserviceaccount.com",
            "client_id": "1", "token_uri": "https://oauth2.googleapis.com/token"}

