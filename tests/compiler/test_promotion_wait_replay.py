"""The release workflow's wait for staging's Argo CD sync, replayed: the step's exact `run:` text,
read from the generated workflow, runs with bash as a runner runs it, against a local HTTP server.

The server answers `GET /api/v1/applications/<name>` with Application objects shaped as Argo CD's
API returns them (status.operationState: phase, message, syncResult.revision and the hooks'
resource results, as in argoproj/argo-cd pkg/apis/application/v1alpha1/types.go) and
`GET /repos/<owner>/<repo>/compare/<base>...<head>` as GitHub's compare API does (`status`:
ahead, behind, identical, diverged). It is those APIs' shape, not a running Argo CD or GitHub:
what is proven is the step's reading of them, its exit codes and its messages.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.workflow_replay import DEFAULT_SHELL

APPLICATION = "churn-routed-staging"
PROMOTED = "a" * 40
"""The commit that pinned staging (promote-staging's output)."""
OLDER = "0" * 40
LATER = "b" * 40
"""A commit pushed after the promotion, on top of it."""
ELSEWHERE = "c" * 40
"""A revision that does not contain the promotion (another branch)."""
ARGOCD_TOKEN = "argocd-token"
GH_TOKEN = "github-token"
COMPARE = {(PROMOTED, LATER): "ahead", (PROMOTED, OLDER): "behind",
           (PROMOTED, ELSEWHERE): "diverged"}


def hook(phase: str, message: str) -> dict[str, Any]:
    """The load master Job's PostSync hook result."""
    return {"group": "batch", "version": "v1", "kind": "Job", "namespace": "churn-staging",
            "name": "churn-routed-load-master", "status": "Synced" if phase != "Running" else "",
            "message": message, "hookType": "PostSync", "hookPhase": phase,
            "syncPhase": "PostSync"}


def application(revision: str, phase: str, message: str,
                hooks: list[dict[str, Any]]) -> dict[str, Any]:
    """An Application as GET /api/v1/applications/<name> returns it, after an automated sync."""
    resources = [{"group": "apps", "version": "v1", "kind": "Deployment",
                  "namespace": "churn-staging", "name": "churn-routed", "status": "Synced",
                  "message": "deployment.apps/churn-routed configured", "hookPhase": "Succeeded",
                  "syncPhase": "Sync"}, *hooks]
    finished = {} if phase == "Running" else {"finishedAt": "2026-12-01T10:04:41Z"}
    return {
        "metadata": {"name": APPLICATION, "namespace": "argocd"},
        "spec": {"source": {"repoURL": "https://github.com/acme/churn-routed.git",
                            "path": "generated/k8s/overlays/staging", "targetRevision": "main"},
                 "destination": {"server": "https://kubernetes.default.svc",
                                 "namespace": "churn-staging"},
                 "project": "default"},
        "status": {
            "sync": {"status": "Synced", "revision": revision},
            "health": {"status": "Healthy"},
            "operationState": {
                "operation": {"sync": {"revision": revision},
                              "initiatedBy": {"automated": True}, "retry": {"limit": 5}},
                "phase": phase, "message": message,
                "syncResult": {"revision": revision, "resources": resources},
                "startedAt": "2026-12-01T10:01:02Z", **finished},
        },
    }


SUCCEEDED = application(PROMOTED, "Succeeded", "successfully synced (all tasks run)",
                        [hook("Succeeded", "job completed")])
HOOK_FAILED = application(PROMOTED, "Failed",
                          "one or more synchronization tasks completed unsuccessfully",
                          [hook("Failed", "Job has reached the specified backoff limit")])
OLD_SUCCEEDED = application(OLDER, "Succeeded", "successfully synced (all tasks run)",
                            [hook("Succeeded", "job completed")])
OLD_FAILED = application(OLDER, "Failed", "one or more synchronization tasks completed "
                         "unsuccessfully", [hook("Failed", "Job has reached the specified "
                                                 "backoff limit")])
RUNNING = application(PROMOTED, "Running",
                      "waiting for completion of hook batch/Job/churn-routed-load-master",
                      [hook("Running", "")])
LATER_SUCCEEDED = application(LATER, "Succeeded", "successfully synced (all tasks run)",
                              [hook("Succeeded", "job completed")])


@dataclass
class FakeApis:
    """Scripted answers: each Application request takes the next one (the last repeats)."""

    answers: list[tuple[int, dict[str, Any]]]
    requests: list[tuple[str, str]] = field(default_factory=list)
    """(path with query, Authorization header) of every request."""


def _handler(apis: FakeApis) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            apis.requests.append((self.path, self.headers.get("Authorization", "")))
            path = self.path.split("?", 1)[0]
            if path == f"/api/v1/applications/{APPLICATION}":
                status, body = apis.answers[0] if len(apis.answers) == 1 else apis.answers.pop(0)
            elif path.startswith("/repos/acme/churn-routed/compare/"):
                base, _, head = path.rsplit("/", 1)[1].partition("...")
                status, body = 200, {"status": COMPARE.get((base, head), "diverged")}
            else:
                status, body = 404, {"message": "Not Found"}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test reads `apis.requests`."""

    return Handler


@pytest.fixture
def serve() -> Iterator[Callable[[list[tuple[int, dict[str, Any]]]], tuple[FakeApis, str]]]:
    servers: list[ThreadingHTTPServer] = []

    def start(answers: list[tuple[int, dict[str, Any]]]) -> tuple[FakeApis, str]:
        apis = FakeApis(list(answers))
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(apis))
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        servers.append(server)
        return apis, f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def wait_step(compiled: Callable[[str], Path]) -> dict[str, Any]:
    workflow = (compiled("routed-release") / ".github" / "workflows" /
                "mlops-churn-routed-release.yml")
    jobs = YAML(typ="safe").load(workflow.read_text())["jobs"]
    (step,) = [s for s in jobs["promote-production"]["steps"]
               if s.get("name") == "Wait for staging's load test (Argo CD sync of its promotion)"]
    assert "shell" not in step  # GitHub's default: bash -e
    return dict(step)


def replay(step: dict[str, Any], url: str, tmp_path: Path, **overrides: str
           ) -> subprocess.CompletedProcess[str]:
    """The step's run: text with bash as GitHub runs it; its env: as written, the values GitHub
    would fill in (variables, secrets, the previous job's output) given here."""
    script = tmp_path / "step.sh"
    script.write_text(step["run"])
    env = {key: str(value) for key, value in step["env"].items() if "${{" not in str(value)}
    env |= {"ARGOCD_SERVER": url + "/", "ARGOCD_TOKEN": ARGOCD_TOKEN, "COMMIT": PROMOTED,
            "GH_TOKEN": GH_TOKEN, "POLL_SECONDS": "0.05", "GITHUB_API_URL": url,
            "GITHUB_REPOSITORY": "acme/churn-routed", "RUNNER_TEMP": str(tmp_path),
            "PATH": "/usr/local/bin:/usr/bin:/bin", **overrides}
    assert set(step["env"]) <= set(env)
    command = [part.replace("{0}", str(script)) for part in DEFAULT_SHELL.split()]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60,
                          check=False)


def test_a_synced_promotion_whose_load_test_passed_lets_production_be_pinned(
        wait_step: dict[str, Any], serve: Any, tmp_path: Path) -> None:
    apis, url = serve([(200, SUCCEEDED)])
    done = replay(wait_step, url, tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[-1] == (
        f"Argo CD synced {PROMOTED} to staging and its load test passed")
    # One request, asking Argo CD to refresh from git, with the Argo CD token only.
    assert apis.requests == [(f"/api/v1/applications/{APPLICATION}?refresh=normal",
                              f"Bearer {ARGOCD_TOKEN}")]


def test_a_failed_load_test_hook_stops_the_promotion_naming_it(
        wait_step: dict[str, Any], serve: Any, tmp_path: Path) -> None:
    _, url = serve([(200, HOOK_FAILED)])
    done = replay(wait_step, url, tmp_path)
    assert done.returncode == 1
    assert done.stdout.splitlines()[-2:] == [
        f"::error::staging's load test or sync failed: Argo CD's sync of {PROMOTED} ended Failed "
        "(one or more synchronization tasks completed unsuccessfully), so production is not "
        "promoted. The load test's report: kubectl -n churn-staging logs "
        "job/churn-routed-load-master",
        "  Job/churn-routed-load-master: Failed Job has reached the specified backoff limit"]


def test_an_older_revision_is_waited_past_until_a_later_one_containing_the_promotion_passed(
        wait_step: dict[str, Any], serve: Any, tmp_path: Path) -> None:
    """Argo CD is still on the revision before the promotion (even a failed one: not this
    image's verdict), then syncs it, runs the hook, and meanwhile a later commit lands: its
    successful sync contains the promotion, so it counts."""
    apis, url = serve([(200, OLD_FAILED), (200, OLD_SUCCEEDED), (503, {}), (200, RUNNING),
                       (200, LATER_SUCCEEDED)])
    done = replay(wait_step, url, tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [
        f"Waiting for Argo CD to sync {PROMOTED} (or later) to staging and run its load test",
        f"{APPLICATION}: Failed at {OLDER}",
        f"{APPLICATION}: Succeeded at {OLDER}",
        f"{APPLICATION}: HTTP 503 from Argo CD",
        f"{APPLICATION}: Running at {PROMOTED}",
        f"Argo CD synced {LATER} to staging and its load test passed"]
    compared = [path for path, _ in apis.requests if path.startswith("/repos/")]
    assert compared == [f"/repos/acme/churn-routed/compare/{PROMOTED}...{OLDER}"] * 2 + [
        f"/repos/acme/churn-routed/compare/{PROMOTED}...{LATER}"]
    assert {auth for path, auth in apis.requests if path.startswith("/repos/")} == {
        f"Bearer {GH_TOKEN}"}
    assert sum("refresh=normal" in path for path, _ in apis.requests) == 1


def test_a_revision_without_the_promotion_never_counts_and_the_wait_times_out(
        wait_step: dict[str, Any], serve: Any, tmp_path: Path) -> None:
    _, url = serve([(200, application(ELSEWHERE, "Succeeded", "successfully synced", []))])
    done = replay(wait_step, url, tmp_path, TIMEOUT_SECONDS="1")
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1] == (
        f"::error::timed out after 1s waiting for Argo CD to sync {PROMOTED} to staging and run "
        f"its load test ({APPLICATION}: Succeeded at {ELSEWHERE}); production is not promoted")


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_refused_or_unknown_application_is_a_configuration_error(
        wait_step: dict[str, Any], serve: Any, tmp_path: Path, status: int) -> None:
    _, url = serve([(status, {"error": "permission denied", "code": 7})])
    done = replay(wait_step, url, tmp_path)
    assert (done.returncode, done.stdout.splitlines()[-1]) == (1, (
        f"::error::Argo CD at {url}/ answered HTTP {status} for the Application {APPLICATION}: "
        "check that it exists and that ARGOCD_TOKEN may get it"))


def test_without_the_argo_cd_server_or_token_it_says_what_to_set(
        wait_step: dict[str, Any], serve: Any, tmp_path: Path) -> None:
    apis, url = serve([(200, SUCCEEDED)])
    done = replay(wait_step, url, tmp_path, ARGOCD_SERVER="")
    assert (done.returncode, done.stdout) == (1, (
        "::error::set the variable ARGOCD_SERVER and the secret ARGOCD_TOKEN of the production "
        "environment: promoting to production waits for Argo CD to report staging's load test\n"))
    assert apis.requests == []
