"""GitHub Actions workflows: pull request gates, release + GitOps promotion, monitor, retrain.

Files are `.github/workflows/mlops-<model>-<kind>.yml` at the repository root, so several models
in one repository never collide, and each reacts only to changes in its own model's files.
Everything a template needs is computed here; templates only lay it out. Every `pip install`
comes from the spec's one `install` section (`compiler/install.py`).

The monitor workflow is generated only where a runner can read what the monitor reads (or when
`monitors.workflow` says so): a workflow that can only ever fail is worse than none.

GitHub starts no workflow for what a workflow's own token does, except dispatches. So the pull
requests the retrain and release workflows open get the PR workflow's gates either through a
GitHub App's token (`ci.app`), whose events do start workflows, or, without one, by dispatching
the PR workflow on the pull request's branch; that run reports the gates as a commit status named
as its gates job (`required_check`), the check a branch rule requires.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from mlops.core.locations import GLOB, scheme
from mlops.spec.install import parse_source
from mlops.spec.kubernetes_names import DerivedNames
from mlops.spec.models import GITHUB_OIDC_ISSUER, Spec

from ..install import MONITOR, install_plan
from ..lock import LOCK_NAME
from ..plan import GeneratedFile, RenderContext
from .kubernetes_load import argocd_gate, deadline_seconds

ROOT = PurePosixPath(".")
CODE_SUFFIXES = (".py", ".sh", ".ipynb", ".R", ".r")


@dataclass(frozen=True)
class Action:
    """A third-party action pinned by full commit SHA, its release tag in the comment."""

    repository: str
    sha: str
    version: str

    def __str__(self) -> str:
        return f"{self.repository}@{self.sha}  # {self.version}"


# Commit SHAs of these releases, as GitHub lists them. Update them together with the tags.
# create-github-app-token v2.1.1: a8d61614... is the commit whose package.json reads "2.1.1" (the
# release commit in actions/create-github-app-token's history) and public workflows pin it as
# `actions/create-github-app-token@a8d616148505b5069dccd32f177bb87d7f39123b # v2.1.1`.
ACTIONS = {
    "checkout": Action("actions/checkout", "11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2"),
    "setup_python": Action("actions/setup-python", "a26af69be951a213d495a4c3e4e4022e16d87065",
                           "v5.6.0"),
    "upload_artifact": Action("actions/upload-artifact",
                              "ea165f8d65b6e75b540449e92b4886f43607fa02", "v4.6.2"),
    "download_artifact": Action("actions/download-artifact",
                                "d3f86a106a0bac45b974a628896c90dbdf5c8093", "v4.3.0"),
    "github_script": Action("actions/github-script", "60a0d83039c74a4aee543508d2ffcb1c3799cdea",
                            "v7.0.1"),
    "create_github_app_token": Action("actions/create-github-app-token",
                                      "a8d616148505b5069dccd32f177bb87d7f39123b", "v2.1.1"),
    # Supply-chain actions of the release job (serving.verify.identity). attest-build-provenance
    # v4.1.0 as sigstore/model-transparency's own release workflow pins it; attest-sbom v4.1.0 and
    # sbom-action v0.24.2 as public workflows pin them.
    "attest_build_provenance": Action("actions/attest-build-provenance",
                                      "a2bbfa25375fe432b6a289bc6b6cd05ecd0c4c32", "v4.1.0"),
    "attest_sbom": Action("actions/attest-sbom", "c604332985a26aa8cf1bdc465b92731239ec6b9e",
                          "v4.1.0"),
    "sbom": Action("anchore/sbom-action", "3ad7283483fc7af8ff2b4ea19663c2d5ca935e26", "v0.24.2"),
}


@dataclass(frozen=True)
class Registry:
    """Where the image is pushed and which credentials log in to it."""

    host: str
    ghcr: bool


def registry_of(image: str) -> Registry:
    """`ghcr.io/acme/x` -> ghcr.io (GITHUB_TOKEN); `acme/x` -> docker.io (repository secrets)."""
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return Registry(first, first == "ghcr.io")
    return Registry("docker.io", False)


def image_name(image: str) -> str:
    """The image's fully-qualified name, as attestations pushed to its registry name it."""
    registry = registry_of(image)
    return image if image.startswith(f"{registry.host}/") else f"{registry.host}/{image}"


def signing(spec: Spec) -> str | None:
    """Who signs the model: "keyless" (serving.verify trusts a GitHub Actions identity, which
    `validate` holds to be the release workflow's: its image job signs as itself before the
    build, then checks it), "committed" (a public key, or another issuer's identity: the team
    signs and commits the signature, which the gates check on every pull request and before the
    release), or None (no serving.verify)."""
    verify = spec.serving.verify
    if verify is None:
        return None
    return "keyless" if verify.identity and verify.issuer == GITHUB_OIDC_ISSUER else "committed"


def code_globs(command: str | None) -> list[str]:
    """`paths:` patterns for the training code named in `model.train` (scripts, `-m` modules)."""
    if not command:
        return []
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    files = []
    for previous, word in zip(["", *words], words, strict=False):
        if previous == "-m":
            files.append(word.replace(".", "/") + ".py")
        elif word.endswith(CODE_SUFFIXES) and not word.startswith(("-", "/")):
            files.append(word)
    return [_glob(f) for f in files if ".." not in PurePosixPath(f).parts]


def _glob(relative: str, folder: bool = False) -> str:
    """A spec-relative file or folder as a `paths:` pattern: a file's whole folder, if any."""
    if folder:
        return f"{relative.rstrip('/')}/**"
    parent = str(PurePosixPath(relative).parent)
    return relative if parent == "." else f"{parent}/**"


def trigger_paths(spec: Spec, ctx: RenderContext) -> list[str]:
    """What a change to this model touches: its folder, or (at the root) its files' folders."""
    workflows = f"{ctx.workflows_dir}/mlops-{spec.name}-*.yml"
    if ctx.spec_dir != ROOT:
        return [f"{ctx.spec_dir}/**", workflows]
    data = spec.data
    files = [data.train, data.test, data.reference_path, data.current, spec.model.artifact,
             spec.model.source.path if spec.model.source else None, *spec.install.requirements]
    if spec.install.source and parse_source(spec.install.source).kind == "wheel":
        files.append(spec.install.source)
    globs = {_glob(f) for f in files if f and scheme(f) is None}  # a URI changes no file here
    globs |= set(code_globs(spec.model.train))
    globs |= {_glob(spec.compile.output, folder=True)}
    if spec.compile.templates:
        globs.add(_glob(spec.compile.templates, folder=True))
    if spec.checks:
        globs.add(_glob(spec.checks.path, folder=True))
    globs.discard(str(ctx.spec_file))
    return [str(ctx.spec_file), *sorted(globs), workflows]


def _relative_to_spec(path: PurePosixPath, spec_dir: PurePosixPath) -> str:
    return str(path.relative_to(spec_dir)) if spec_dir != ROOT else str(path)


def pip_install(args: list[str]) -> str:
    """A `run:` line installing `args` with the runner's Python."""
    return " ".join(["python", "-m", "pip", "install", *(shlex.quote(arg) for arg in args)])


def monitor_workflow(spec: Spec) -> bool:
    """Whether to generate the scheduled monitor workflow: as `monitors.workflow` says, else only
    when a runner can read the request log (a path relative to the spec, in the checkout, and not
    uploaded to a bucket the runner has no credentials for)."""
    if spec.monitors.workflow is not None:
        return spec.monitors.workflow
    log = spec.serving.request_log
    return (log is not None and log.upload is None
            and not PurePosixPath(log.path).is_absolute())


def required_check(spec: Spec) -> str:
    """The PR workflow's gates job name: the check a branch rule requires. A run dispatched on a
    pull request opened with the workflow token reports a commit status of the same name."""
    return f"mlops {spec.name}: gates"


def dispatches_gates(spec: Spec) -> bool:
    """Whether a workflow opens pull requests with the workflow token, which starts no PR
    workflow run: it then dispatches the PR workflow on each one (GitHub lets that token
    dispatch), and the PR workflow takes `workflow_dispatch` and reports the commit status."""
    return spec.ci.app is None and (
        spec.model.train is not None or spec.deploy.promotion == "pull_request")


_PLAIN = re.compile(r"[\w./*?\[\]=-]+")


def data_files(spec: Spec) -> list[str]:
    """The data in the checkout the spec names, each location once: what retraining reads and
    fingerprints (a file, a folder or a glob; object storage is not in the checkout)."""
    data = spec.data
    return list(dict.fromkeys(f for f in (data.train, data.test, data.reference_path, data.current)
                              if f and scheme(f) is None))


def shell_word(location: str) -> str:
    """A location as a shell word: a glob of plain characters left for the shell to expand,
    anything else quoted."""
    return location if GLOB.search(location) and _PLAIN.fullmatch(location) else shlex.quote(location)


def data_environment(spec: Spec) -> dict[str, str]:
    """What the retrain workflow tells `model.train`: the data the spec names (spec-relative)."""
    data = spec.data
    return {"MLOPS_DATA_FORMAT": data.format, "MLOPS_DATA_TRAIN": data.train,
            "MLOPS_DATA_TEST": data.test, "MLOPS_DATA_TARGET": data.target}


ARGOCD_SERVER_VARIABLE = "ARGOCD_SERVER"
"""Repository (or environment) variable: the Argo CD server's URL, as the runner reaches it."""
ARGOCD_TOKEN_SECRET = "ARGOCD_TOKEN"
"""Secret of the environment being promoted: an Argo CD API token that may get the previous
environment's Application."""
ARGOCD_POLL_SECONDS = 15
ARGOCD_SYNC_SECONDS = 1200
"""Besides the load test's own deadline: Argo CD noticing the commit, syncing and rolling out."""
PROMOTE_MINUTES = 15
MERGE_WAIT_MINUTES = 360


@dataclass(frozen=True)
class LoadGate:
    """What `promote-<env>` waits for before it pins: Argo CD's sync of the previous
    environment's promotion commit (output `commit` of `promote-<previous>`), whose PostSync
    hooks run that environment's load test; a failed hook fails the sync operation."""

    environment: str
    application: str
    load_job: str
    namespace: str
    timeout_seconds: int

    @property
    def job(self) -> str:
        return f"promote-{self.environment}"


@dataclass(frozen=True)
class Promotion:
    """One `promote-<env>` job: what it waits for, whether the next job waits for its commit,
    and how long it may take."""

    gate: LoadGate | None
    outputs_commit: bool
    timeout_minutes: int


def promotions(spec: Spec) -> dict[str, Promotion]:
    """Every environment's promote job, by environment name."""
    names = DerivedNames(spec)
    environments = spec.deploy.environments
    gates: dict[str, LoadGate | None] = {}
    for env in environments:
        previous = argocd_gate(spec, env)
        gates[env.name] = None if previous is None else LoadGate(
            previous.name, names.environment(previous), names.load_master, previous.namespace,
            deadline_seconds(spec) + ARGOCD_SYNC_SECONDS)
    result = {}
    for index, env in enumerate(environments):
        last = index == len(environments) - 1
        gate = gates[env.name]
        minutes = (MERGE_WAIT_MINUTES if spec.deploy.promotion == "pull_request" and not last
                   else PROMOTE_MINUTES)
        if gate is not None:
            minutes += -(-gate.timeout_seconds // 60)
        result[env.name] = Promotion(
            gate, not last and gates[environments[index + 1].name] is not None, minutes)
    return result


def workflow_view(ctx: RenderContext) -> dict[str, object]:
    """The values every workflow template uses, computed once."""
    spec = ctx.loaded.spec
    plan = install_plan(spec, ctx.tool_version)
    reports = ctx.spec_dir / "reports"
    model_files = [spec.model.artifact] + ([spec.model.source.path] if spec.model.source else [])
    return {
        "name": spec.name,
        "spec_arg": shlex.quote(ctx.spec_file.name),
        "working_directory": None if ctx.spec_dir == ROOT else str(ctx.spec_dir),
        "paths": trigger_paths(spec, ctx),
        # a committed signature is checked with the gates (signing extra), where a PR sees it
        "install_gates": pip_install(plan.pip_args(
            (*plan.gate_extras, *(("signing",) if signing(spec) == "committed" else ())),
            team=True)),
        "install_core": pip_install(plan.pip_args(())),
        "install_signing": pip_install(plan.pip_args(("signing",))),
        "signing": signing(spec),
        "image_name": image_name(spec.deploy.image),
        "install_monitor": pip_install(plan.pip_args(MONITOR)),
        "promotion_branch": f"mlops/promote-{spec.name}",
        "promotions": promotions(spec),
        "argocd": {"server": ARGOCD_SERVER_VARIABLE, "token": ARGOCD_TOKEN_SECRET,
                   "poll_seconds": ARGOCD_POLL_SECONDS},
        "pull_request": spec.deploy.promotion == "pull_request",
        "promotion_paths": [f"{ctx.output('k8s', 'overlays')}/**", str(ctx.output(LOCK_NAME))],
        "reports_path": f"{reports}/",
        "output": _relative_to_spec(ctx.output_dir, ctx.spec_dir),
        "dockerfile": _relative_to_spec(ctx.output("docker", "Dockerfile"), ctx.spec_dir),
        "monitor_config": _relative_to_spec(ctx.output("monitoring", "monitor.yaml"), ctx.spec_dir),
        "registry": registry_of(spec.deploy.image),
        "marker": f"<!-- mlops-report:{spec.name} -->",
        "model_files": " ".join(shlex.quote(f) for f in model_files),
        "retrain_workflow": f"mlops-{spec.name}-retrain.yml",
        "pr_workflow": f"mlops-{spec.name}-pr.yml",
        "app": spec.ci.app,
        "required_check": required_check(spec),
        "dispatch_gates": dispatches_gates(spec),
        "data_files": " ".join(shell_word(f) for f in data_files(spec)),
        "data_environment": data_environment(spec),
        "open_issue": "open_issue" in spec.monitors.on_alert,
        "retrain": "retrain" in spec.monitors.on_alert and spec.model.train is not None,
    }


class GitHubActionsTarget:
    name = "github_actions"

    def render(self, ctx: RenderContext) -> Sequence[GeneratedFile]:
        spec = ctx.loaded.spec
        view = workflow_view(ctx)
        kinds: list[tuple[str, tuple[str, ...]]] = [("pr", ("ci",)), ("release", ("deploy",))]
        if monitor_workflow(spec):
            kinds.append(("monitor", ("monitors",)))
        if spec.model.train:
            kinds.append(("retrain", ("model", "train")))
        return [
            GeneratedFile(
                ctx.workflows_dir / f"mlops-{spec.name}-{kind}.yml",
                ctx.render(f"github_actions/{kind}.yml.j2", w=view, actions=ACTIONS),
                origin,
            )
            for kind, origin in kinds
        ]


TARGET = GitHubActionsTarget()
