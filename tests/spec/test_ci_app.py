"""`ci.app`: the GitHub App whose token opens the workflows' pull requests. Its two secret names
end up in the workflows as `secrets.<name>`, so `mlops validate` holds them to GitHub's rules, and
says where a bad one is."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops.cli.main import main
from mlops.spec.loader import load_spec
from tests.projects import breast_cancer_project
from tests.specs import breast_cancer, changed, location, write_spec


def validate(capsys: pytest.CaptureFixture[str], spec: Path) -> tuple[int, str]:
    """The real CLI in-process: (exit code, stderr)."""
    with pytest.raises(SystemExit) as exited:
        main(["validate", str(spec)])
    return int(exited.value.code or 0), capsys.readouterr().err


def test_an_app_with_the_default_secret_names(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, changed(breast_cancer(), {"ci.app": {}}))
    app = load_spec(spec, check_files=False).spec.ci.app
    assert app is not None
    assert (app.id_secret, app.key_secret) == ("MLOPS_APP_ID", "MLOPS_APP_PRIVATE_KEY")


@pytest.mark.parametrize(("app", "key", "message"), [
    ({"id_secret": "APP-ID"}, "id_secret",
     "expected a secret name (letters, digits and '_', not starting with a digit), got 'APP-ID'"),
    ({"key_secret": "${{ github.token }}"}, "key_secret",
     "expected a secret name (letters, digits and '_', not starting with a digit), got "
     "'${{ github.token }}'"),
    ({"id_secret": "1APP"}, "id_secret",
     "expected a secret name (letters, digits and '_', not starting with a digit), got '1APP'"),
    ({"id_secret": "github_app_id"}, "id_secret",
     "secret names cannot start with GITHUB_ (GitHub reserves the prefix), got 'github_app_id'"),
    ({"id_secret": "MLOPS_APP", "key_secret": "mlops_app"}, "key_secret",
     "names the same secret as id_secret ('MLOPS_APP'; GitHub ignores case): the App's ID and "
     "private key are two secrets"),
])
def test_bad_secret_names_are_located(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                      app: dict[str, str], key: str, message: str) -> None:
    spec = breast_cancer_project(tmp_path, {"ci.app": app})  # with the files the spec names
    code, err = validate(capsys, spec)
    where = location(spec.read_text(), f"ci.app.{key}")
    assert (code, err) == (1, f"{spec}:{where}: ci.app.{key}: {message}\n")
