"""A store that fails a request is one located line through the real CLI, never a traceback: the
readers and writers of object storage catch `core.object_stores.STORE_ERRORS` (pyarrow raises a
plain ArrowException, not an OSError, when Azure's credential chain finds nothing) and word the
failure with `describe` (pyarrow's own text spans several lines).

Against Azurite (tests/emulators.py): credentials that the account refuses (a wrong key), an
account named in the URI without any credentials at all, and a SAS token that may list and read
but not write (the failure comes after the listing and the reads, while parts are written).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from mlops.core import object_stores
from mlops.core.errors import MlopsError
from mlops.harness.monitor.requestlog import log_files
from tests.emulators import AZURITE_ACCOUNT, AZURITE_KEY, BUCKET, Store, azurite
from tests.projects import breast_cancer_project

pytestmark = pytest.mark.slow
NAMED = f"abfs://{BUCKET}@{AZURITE_ACCOUNT}.dfs.core.windows.net"
"""The container, with the account in the URI (signed in with Azure's credential chain)."""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with azurite(tmp_path_factory.mktemp("azurite")) as running:
        yield running


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return breast_cancer_project(tmp_path_factory.mktemp("project"), models=True).parent


def _predict(project: Path, output: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {name: value for name, value in os.environ.items()
             if name != object_stores.AZURE_CONNECTION}
    return subprocess.run([sys.executable, "-m", "mlops", "predict", "--input", "data/test.csv",
                           "--output", output], cwd=project, text=True, capture_output=True,
                          timeout=300, env={**clean, **environment})


def _wrong_key(store: Store) -> str:
    connection = store.environment[object_stores.AZURE_CONNECTION]
    return connection.replace(AZURITE_KEY, base64.b64encode(b"0" * 64).decode())


def _read_only(store: Store) -> str:
    """A connection string with an account SAS token that may list and read blobs only (signed
    as Azure documents it, for version 2019-12-12)."""
    expiry = "2099-01-01T00:00:00Z"
    signed = "\n".join([AZURITE_ACCOUNT, "rl", "b", "sco", "", expiry, "", "", "2019-12-12", ""])
    signature = base64.b64encode(hmac.new(base64.b64decode(AZURITE_KEY), signed.encode(),
                                          hashlib.sha256).digest()).decode()
    token = urlencode({"sv": "2019-12-12", "ss": "b", "srt": "sco", "sp": "rl", "se": expiry,
                       "sig": signature})
    endpoint = store.environment[object_stores.AZURE_CONNECTION].partition("BlobEndpoint=")[2]
    return (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
            f"SharedAccessSignature={token};BlobEndpoint={endpoint}")


def test_a_token_that_cannot_write_fails_on_the_first_part_in_one_line(
        store: Store, project: Path) -> None:
    source = f"{BUCKET}/read-only/score.csv"
    store.filesystem.create_dir(f"{BUCKET}/read-only")
    with store.filesystem.open_output_stream(source) as out:
        out.write((project / "data" / "test.csv").read_bytes())
    done = subprocess.run(
        [sys.executable, "-m", "mlops", "predict", "--input", f"abfs://{source}", "--output",
         f"abfs://{BUCKET}/read-only/out"], cwd=project, text=True, capture_output=True,
        timeout=300, env={**os.environ, object_stores.AZURE_CONNECTION: _read_only(store)})
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (f"abfs://{BUCKET}/read-only/out: cannot write part-00000.parquet: "
                           f"{object_stores.AZURE_NOT_PERMITTED}\n")


def test_refused_credentials_for_the_output_are_one_line(store: Store, project: Path) -> None:
    done = _predict(project, f"abfs://{BUCKET}/out",
                    {object_stores.AZURE_CONNECTION: _wrong_key(store)})
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (f"abfs://{BUCKET}/out: cannot list the output folder: "
                           f"{object_stores.AZURE_REFUSED}\n")
    assert not (project / "out").exists()


def test_no_credentials_for_the_output_are_one_line(store: Store, project: Path) -> None:
    """Azure's credential chain fails with a plain ArrowException (it escaped as a traceback).
    The chain also asks the Azure CLI, whose own complaint (`az: not found` here, a login hint
    where it is installed) may come first on stderr: the last line is ours."""
    done = _predict(project, f"{NAMED}/out", {})
    assert (done.returncode, done.stdout) == (1, "")
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == (f"{NAMED}/out: cannot list the output folder: "
                                            f"{object_stores.NO_AZURE_CREDENTIALS}")


def test_the_monitor_names_a_request_log_it_cannot_sign_in_to(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(object_stores.AZURE_CONNECTION)
    with pytest.raises(MlopsError) as raised:
        log_files(f"{NAMED}/logs")
    assert str(raised.value) == (f"{NAMED}/logs: cannot list the request log: "
                                 f"{object_stores.NO_AZURE_CREDENTIALS}")
