"""How an object-store URI and the environment become a pyarrow filesystem and a bucket/key path
(core.object_stores, through core.storage.open_location). Nothing here sends a request: the
emulator tests in tests/functional/test_object_stores.py read and write through these."""

from __future__ import annotations

import pickle
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from mlops.core import object_stores
from mlops.core.errors import MlopsError
from mlops.core.object_stores import azure_from_connection_string
from mlops.core.storage import open_location

KEY = "a2V5"
AZURITE = ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
           "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;")


@pytest.fixture(autouse=True)
def no_store_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (object_stores.AZURE_CONNECTION, object_stores.GCS_RETRY):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(("connection", "expected"), [
    (AZURITE, pafs.AzureFileSystem("devstoreaccount1", account_key=KEY,
                                   blob_storage_authority="127.0.0.1:10000",
                                   blob_storage_scheme="http",
                                   dfs_storage_authority="127.0.0.1:10000",
                                   dfs_storage_scheme="http")),
    ("DefaultEndpointsProtocol=https;AccountName=team;AccountKey=a2V5;"
     "EndpointSuffix=core.windows.net", pafs.AzureFileSystem("team", account_key=KEY)),
    ("accountname=team;accountkey=a2V5;blobendpoint=https://team.blob.core.windows.net/",
     pafs.AzureFileSystem("team", account_key=KEY)),
    ("AccountName=team;AccountKey=a2V5;EndpointSuffix=core.chinacloudapi.cn",
     pafs.AzureFileSystem("team", account_key=KEY,
                          blob_storage_authority=".blob.core.chinacloudapi.cn",
                          dfs_storage_authority=".dfs.core.chinacloudapi.cn")),
])
def test_a_connection_string_gives_the_account_its_key_and_endpoint(
        connection: str, expected: pafs.AzureFileSystem) -> None:
    filesystem = azure_from_connection_string(connection)
    assert filesystem == expected
    # the Ray engine ships each file's filesystem to its task: the settings travel with it
    assert pickle.loads(pickle.dumps(filesystem)) == expected


def test_a_connection_string_without_an_account_is_refused() -> None:
    with pytest.raises(MlopsError) as raised:
        azure_from_connection_string("AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/x")
    assert str(raised.value) == "AZURE_STORAGE_CONNECTION_STRING names no AccountName"


@pytest.mark.parametrize(("location", "path"), [
    ("abfs://data/train/", "data/train"),
    ("abfss://data/train/*.parquet", "data/train/*.parquet"),
    ("abfs://data@devstoreaccount1.dfs.core.windows.net/train/part-*", "data/train/part-*"),
])
def test_azure_paths_with_a_connection_string(location: str, path: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(object_stores.AZURE_CONNECTION, AZURITE)
    filesystem, found = open_location(location, Path("/"))
    assert (filesystem.type_name, found) == ("abfs", path)


def test_an_account_in_the_uri_is_not_part_of_the_path() -> None:
    filesystem, path = open_location("abfs://data@team.dfs.core.windows.net/train/", Path("/"))
    assert (filesystem, path) == (pafs.AzureFileSystem("team"), "data/train")


def test_an_azure_uri_without_any_account_names_the_settings() -> None:
    with pytest.raises(MlopsError) as raised:
        open_location("abfs://data/train/", Path("/"))
    assert str(raised.value) == (
        "abfs://data/train/: cannot open the object store: no Azure storage account: set "
        "AZURE_STORAGE_CONNECTION_STRING or name the account in the URI "
        "(abfs://CONTAINER@ACCOUNT.dfs.core.windows.net/PATH)")


@pytest.mark.parametrize(("location", "path"), [
    ("gs://data/train/", "data/train"),
    ("gcs://data/train/dt=*/*.parquet", "data/train/dt=*/*.parquet"),
    ("gs://anonymous@public-data/train.csv", "public-data/train.csv"),
])
def test_gcs_paths(location: str, path: str) -> None:
    filesystem, found = open_location(location, Path("/"))
    assert (filesystem.type_name, found) == ("gcs", path)


@pytest.mark.parametrize(("location", "retry", "message"), [
    ("gs://someone@data/x", "", "a gs:// URI takes no user name but 'anonymous', got 'someone'"),
    ("gs://data/x", "soon", "MLOPS_GCS_RETRY_SECONDS must be a number of seconds above 0, got "
                            "'soon'"),
    ("gs://data/x", "0", "MLOPS_GCS_RETRY_SECONDS must be a number of seconds above 0, got '0'"),
])
def test_unusable_gcs_settings_are_named(location: str, retry: str, message: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    if retry:
        monkeypatch.setenv(object_stores.GCS_RETRY, retry)
    with pytest.raises(MlopsError) as raised:
        open_location(location, Path("/"))
    assert str(raised.value) == f"{location}: cannot open the object store: {message}"


@pytest.mark.parametrize("token", ["sv=2019-12-12&sp=rl&sig=c2ln%3D", "?sv=2019-12-12&sp=rl&sig=c2ln%3D"])
def test_a_connection_strings_sas_token_is_a_query_string(token: str) -> None:
    """pyarrow appends the token to each URL as given: without its '?' it became part of the
    path (every request to Azurite failed with OutOfRangeInput)."""
    filesystem = azure_from_connection_string(
        f"AccountName=team;SharedAccessSignature={token};EndpointSuffix=core.windows.net")
    assert filesystem == pafs.AzureFileSystem("team", sas_token="?sv=2019-12-12&sp=rl&sig=c2ln%3D")


def test_store_failures_are_worded_in_one_line_without_a_signature() -> None:
    refused = OSError("UploadFrom failed for 'http://x/a/b?se=2099&sig=c2ln%3D&sp=rl'. Azure Error: "
                      "[AuthorizationPermissionMismatch] 403 This request is not authorized.\n"
                      "RequestId:1")
    assert object_stores.describe(refused) == object_stores.AZURE_NOT_PERMITTED
    other = OSError("GetProperties failed for 'http://x/a/b?se=2099&sig=c2ln%3D&sp=rl'. Azure "
                    "Error: [ServerBusy] 503")
    assert object_stores.describe(other) == ("GetProperties failed for 'http://x/a/b?se=2099&"
                                             "sig=REDACTED&sp=rl'. Azure Error: [ServerBusy] 503")
