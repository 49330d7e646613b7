"""The generated Dockerfile: what it must contain, and what hadolint and checkov say about it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from compiler_helpers import CASES, ROOT, compile_case, copy_case, find_tool, run_tool

from mlops.compiler.compile import prepare, write

CHECKOV = str(ROOT / ".venv-checkov" / "bin" / "checkov")
HINT = "run `make tools`"


def docker_dir(root: Path) -> Path:
    """The case's generated docker folder (its spec may set compile.output)."""
    found = sorted(root.rglob("docker/Dockerfile"))
    assert len(found) == 1, found
    return found[0].parent


def dockerfile(root: Path) -> str:
    return (docker_dir(root) / "Dockerfile").read_text()


@pytest.mark.parametrize("case", sorted(CASES))
def test_two_stages_non_root_healthcheck_and_serve(case: str,
                                                   compiled: Callable[[str], Path]) -> None:
    text = dockerfile(compiled(case))
    froms = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert len(froms) == 2 and froms[0] == froms[1], froms  # builder + runtime, same pinned base
    runtime = text.split("\nFROM ", 2)[2]
    assert "COPY --from=builder /opt/venv /opt/venv" in runtime
    assert re.search(r"^USER 10001:10001$", runtime, re.MULTILINE)
    assert "pip install" not in runtime  # nothing is installed in the runtime stage
    assert "HEALTHCHECK" in runtime and "/v2/health/live" in runtime and "curl" not in runtime
    assert 'ENTRYPOINT ["/opt/venv/bin/mlops", "serve", "/app/mlops.yaml"]' in runtime
    assert re.search(r"^EXPOSE \d+$", runtime, re.MULTILINE)
    assert re.search(r'"mlops-yaml\[serve\]==[\w.+-]+"', text)  # the tool version, pinned
    for heavy in ("torch", "locust", "scikit-learn", "[train]", "[load]"):
        assert heavy not in text
    ignore = (docker_dir(compiled(case)) / ".dockerignore").read_text()
    assert "\n*\n" in ignore and "!mlops.yaml" in ignore and "!wheelhouse/*.whl" in ignore


def test_spec_drives_base_image_port_model_and_parquet(tmp_path: Path) -> None:
    spec = copy_case("breast-cancer", tmp_path)
    log_line = ("request_log: {path: /var/log/mlops, sample_rate: 0.1, format: jsonl, "
                "claim: breast-cancer-requests}")
    assert log_line in spec.read_text()
    text = spec.read_text().replace(log_line, "request_log: {path: /srv/requests, format: parquet}")
    text = text.replace("  port: 8080\n", "  port: 9000\n  base_image: "
                        "python:3.11.14-slim-bookworm@sha256:" + "a" * 64 + "\n")
    spec.write_text(text)
    write(prepare([spec]))
    generated = dockerfile(tmp_path)
    assert generated.count("FROM python:3.11.14-slim-bookworm@sha256:" + "a" * 64) == 2
    assert "EXPOSE 9000" in generated and "127.0.0.1:9000/v2/health/live" in generated
    assert '"pyarrow>=' in generated  # parquet request logs need pyarrow in the image
    assert "RUN mkdir -p /srv/requests && chown 10001:10001 /srv/requests" in generated
    assert "COPY models/model.onnx /app/models/model.onnx" in generated


def test_hadolint_passes(compiled: Callable[[str], Path], tmp_path: Path) -> None:
    hadolint = find_tool("hadolint", HINT)
    for case in sorted(CASES):
        path = docker_dir(compiled(case)) / "Dockerfile"
        result = run_tool([hadolint, "--failure-threshold", "warning", str(path)])
        assert result.returncode == 0, f"{case}: {result.stdout}{result.stderr}"
    bad = tmp_path / "Dockerfile"  # the same tool fails a Dockerfile with a warning-level problem
    bad.write_text(re.sub(r"^FROM \S+", "FROM python:latest", dockerfile(compiled("breast-cancer")),
                          flags=re.MULTILINE))
    assert run_tool([hadolint, "--failure-threshold", "warning", str(bad)]).returncode != 0


@pytest.fixture(scope="module")
def checkov_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One checkov run over every case's Dockerfile, plus an insecure copy that must fail."""
    folder = tmp_path_factory.mktemp("checkov-docker")
    for case in sorted(CASES):
        root = compile_case(case, tmp_path_factory.mktemp(case))
        (folder / case).mkdir()
        (folder / case / "Dockerfile").write_text(dockerfile(root))
    (folder / "insecure").mkdir()
    insecure = re.sub(r"^(USER|HEALTHCHECK).*\n(  CMD.*\n)?", "",
                      dockerfile(compile_case("breast-cancer", tmp_path_factory.mktemp("bad"))),
                      flags=re.MULTILINE)
    (folder / "insecure" / "Dockerfile").write_text(insecure)
    result = run_tool([find_tool(CHECKOV, HINT), "--framework", "dockerfile", "--skip-download",
                       "--compact", "--output", "json", "--directory", str(folder)])
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    report = report[0] if isinstance(report, list) else report
    return dict(report["results"])


def _ids(results: dict[str, Any], outcome: str, folder: str) -> set[str]:
    return {c["check_id"] for c in results.get(outcome, [])
            if c["file_path"].startswith(f"/{folder}/")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_checkov_finds_no_failed_check(case: str, checkov_results: dict[str, Any]) -> None:
    assert _ids(checkov_results, "failed_checks", case) == set()
    assert _ids(checkov_results, "skipped_checks", case) == set()
    assert {"CKV_DOCKER_2", "CKV_DOCKER_3"} <= _ids(checkov_results, "passed_checks", case)


def test_checkov_fails_the_insecure_variant(checkov_results: dict[str, Any]) -> None:
    assert {"CKV_DOCKER_2", "CKV_DOCKER_3"} <= _ids(checkov_results, "failed_checks", "insecure")
