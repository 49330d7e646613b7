"""Where the spec's files live inside the serving image: one layout for the Dockerfile, the
Kubernetes manifests, and the rules `validate` applies to paths the container mounts.

The image's root file system is read-only when it runs: every folder the server or the monitor
writes to is a mounted volume, and the spec's relative paths resolve under the app folder exactly
as they resolve under the spec's folder on a developer's machine.
"""

from __future__ import annotations

from pathlib import PurePosixPath

RUN_AS = 10001
"""The fixed non-root UID/GID of the image's user and of every pod."""
APP_DIR = PurePosixPath("/app")
"""The spec's folder inside the image: mlops.yaml, the model and the monitor's reference data."""
VENV_DIR = PurePosixPath("/opt/venv")
FEEDBACK_DIR = PurePosixPath("/var/lib/mlops/feedback")
"""Where the monitor CronJob mounts the claim holding the feedback labels."""


def in_container(path: str) -> PurePosixPath:
    """A spec path as the container sees it: absolute paths as written, relative ones under
    the app folder (the container's working directory)."""
    written = PurePosixPath(path)
    return written if written.is_absolute() else APP_DIR / written


def feedback_file(labels: str) -> PurePosixPath:
    """The feedback file inside the CronJob: its name, in the mounted claim."""
    return FEEDBACK_DIR / PurePosixPath(labels).name


SYSTEM_DIRS = tuple(PurePosixPath(p) for p in ("/opt/venv", "/usr", "/bin", "/lib", "/etc", "/proc",
                                               "/sys", "/dev"))
"""Folders of the image itself: a volume mounted over (or inside) one breaks the container."""
