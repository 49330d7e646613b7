"""The pyarrow filesystem behind an object-store URI, configured from the environment alone.

A spec names where data lives, never how to log in: a team points the same spec at its real
account, an emulator or a test server by setting the variables its cloud's own tools read.

- `s3://bucket/key`: pyarrow's `FileSystem.from_uri` reads AWS_* (AWS_ENDPOINT_URL for MinIO or
  a test server) and ~/.aws, as the AWS CLI does.
- `gs://bucket/key` (or `gcs://`): Google's Application Default Credentials
  (GOOGLE_APPLICATION_CREDENTIALS, gcloud's ADC file, the metadata server);
  CLOUD_STORAGE_EMULATOR_ENDPOINT (e.g. `http://127.0.0.1:9023`, read by Google's C++ client that
  pyarrow uses; not STORAGE_EMULATOR_HOST) points at an emulator; `gs://anonymous@bucket/key`
  reads a public bucket. Failed requests are retried for MLOPS_GCS_RETRY_SECONDS (default 60):
  Google's client retries for 15 minutes, so missing credentials would look like a hang.
- `abfs://container/path` (or `abfss://`): AZURE_STORAGE_CONNECTION_STRING (the variable of the
  Azure CLI and SDKs, the form Azurite documents) gives the account, its key or SAS token and its
  endpoint. Without it the URI names the account, `abfs://container@ACCOUNT.dfs.core.windows.net/
  path`, and Azure's DefaultAzureCredential signs in (AZURE_TENANT_ID, AZURE_CLIENT_ID,
  AZURE_CLIENT_SECRET, workload or managed identity).

URIs take no query string: `?` is a wildcard in data locations.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.fs as pafs

from .errors import MlopsError

STORE_ERRORS = (OSError, pa.ArrowException)
"""What a request to a store raises: OSError mostly, but Azure's failed sign-in is a plain
ArrowException."""

GCS_RETRY = "MLOPS_GCS_RETRY_SECONDS"
GCS_RETRY_DEFAULT = 60.0
AZURE_CONNECTION = "AZURE_STORAGE_CONNECTION_STRING"
NO_AZURE_ACCOUNT = (f"no Azure storage account: set {AZURE_CONNECTION} or name the account in "
                    "the URI (abfs://CONTAINER@ACCOUNT.dfs.core.windows.net/PATH)")
NO_GCS_CREDENTIALS = ("no Google Cloud credentials: set GOOGLE_APPLICATION_CREDENTIALS to a "
                      "service account key file, or run where Application Default Credentials "
                      "are found")
NO_AZURE_CREDENTIALS = (f"no Azure credentials: set {AZURE_CONNECTION}, or AZURE_TENANT_ID, "
                        "AZURE_CLIENT_ID and AZURE_CLIENT_SECRET")
AZURE_REFUSED = f"the Azure storage account refused the credentials ({AZURE_CONNECTION})"
AZURE_NOT_PERMITTED = (f"the Azure credentials ({AZURE_CONNECTION}) do not permit this operation "
                       "(a SAS token without the permission, or a role without it)")
_SAS_SIGNATURE = re.compile(r"(?<=[?&]sig=)[^&'\s]+")


def open_store(scheme: str, uri: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem for `uri` (whose scheme is `scheme`, without wildcards) and the bucket/key
    path on it, without a trailing slash; raises MlopsError (without the URI: the caller names
    it) for a setting it cannot use."""
    authority, _, key = uri[len(scheme) + 3:].partition("/")
    if scheme in ("gs", "gcs"):
        return _gcs(authority), _join(authority.rpartition("@")[2], key)
    if scheme in ("abfs", "abfss") and os.environ.get(AZURE_CONNECTION):
        return (azure_from_connection_string(os.environ[AZURE_CONNECTION]),
                _join(authority.partition("@")[0], key))
    if scheme in ("abfs", "abfss") and "@" not in authority:
        raise MlopsError(NO_AZURE_ACCOUNT)
    try:
        filesystem, path = pafs.FileSystem.from_uri(uri)
    except (OSError, ValueError, TypeError) as error:
        raise MlopsError(str(error)) from None
    return filesystem, path.rstrip("/")


def describe(error: Exception) -> str:
    """What a failed request means to the user: a missing, refused or insufficient credential in
    one line, anything else as pyarrow said it (a SAS token's signature redacted)."""
    text = str(error)
    if "Could not create a OAuth2 access token" in text:
        return NO_GCS_CREDENTIALS
    if "Failed to get token from DefaultAzureCredential" in text:
        return NO_AZURE_CREDENTIALS
    if "[AuthorizationFailure]" in text or "[AuthenticationFailed]" in text:
        return AZURE_REFUSED
    if "[AuthorizationPermissionMismatch]" in text:
        return AZURE_NOT_PERMITTED
    return _SAS_SIGNATURE.sub("REDACTED", text)  # pyarrow names the URL, SAS token included


def _join(container: str, key: str) -> str:
    return f"{container}/{key}".rstrip("/")


def _gcs(authority: str) -> pafs.GcsFileSystem:
    user, at, _ = authority.rpartition("@")
    if at and user != "anonymous":
        raise MlopsError(f"a gs:// URI takes no user name but 'anonymous', got '{user}'")
    text = os.environ.get(GCS_RETRY, "")
    try:
        seconds = float(text) if text else GCS_RETRY_DEFAULT
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise MlopsError(f"{GCS_RETRY} must be a number of seconds above 0, got '{text}'")
    return pafs.GcsFileSystem(anonymous=bool(at), retry_time_limit=timedelta(seconds=seconds))


def azure_from_connection_string(connection: str) -> pafs.AzureFileSystem:
    """An Azure filesystem from a storage connection string (`AccountName=...;AccountKey=...;
    BlobEndpoint=...`, keys in any case): the account, its key or SAS token, and its endpoint
    (BlobEndpoint, else DefaultEndpointsProtocol and EndpointSuffix)."""
    fields = {name.strip().lower(): value.strip() for name, equals, value
              in (part.partition("=") for part in connection.split(";")) if equals}
    account = fields.get("accountname")
    if not account:
        raise MlopsError(f"{AZURE_CONNECTION} names no AccountName")
    scheme = fields.get("defaultendpointsprotocol", "https")
    blob = f".blob.{fields.get('endpointsuffix', 'core.windows.net')}"
    if "blobendpoint" in fields:
        endpoint = urlsplit(fields["blobendpoint"])
        scheme, host = endpoint.scheme or scheme, endpoint.netloc
        # Arrow puts the account before a `.domain` authority and after a host:port one
        # (Azurite's endpoint is http://127.0.0.1:10000/ACCOUNT).
        blob = host[len(account):] if host.startswith(f"{account}.") else host
    dfs = blob.replace(".blob.", ".dfs.", 1)
    sas = fields.get("sharedaccesssignature")
    if sas and not sas.startswith("?"):
        sas = f"?{sas}"  # pyarrow appends the token to each URL as it is (else into the path)
    return pafs.AzureFileSystem(account, account_key=fields.get("accountkey"), sas_token=sas,
                                blob_storage_authority=blob, blob_storage_scheme=scheme,
                                dfs_storage_authority=dfs, dfs_storage_scheme=scheme)
