"""The one decision rule shared by compile, --dry-run and --check, and the atomic apply."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from mlops.compiler.lock import sha256
from mlops.compiler.writer import Decision, Status, Wanted, apply, decide, plan_changes, unified_diff

NEW = "new\n"


@pytest.mark.parametrize(("new", "disk", "locked", "status"), [
    (NEW, None, None, Status.CREATE),
    (NEW, None, sha256(b"old\n"), Status.CREATE),
    (NEW, b"new\n", None, Status.IDENTICAL),
    (NEW, b"new\n", sha256(b"old\n"), Status.IDENTICAL),
    (NEW, b"old\n", sha256(b"old\n"), Status.UPDATE),
    (NEW, b"old, edited\n", sha256(b"old\n"), Status.EDITED),
    (NEW, b"someone else's\n", None, Status.UNMANAGED),
    (None, b"old\n", sha256(b"old\n"), Status.REMOVE),
])
def test_decide(new: str | None, disk: bytes | None, locked: str | None, status: Status) -> None:
    assert decide(new, disk, locked) is status


def test_plan_covers_files_orphans_and_the_lock_last(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "kept.txt").write_text("kept\n")
    (tmp_path / "out" / "gone.txt").write_text("gone\n")
    locked = {PurePosixPath("out/kept.txt"): sha256(b"kept\n"),
              PurePosixPath("out/gone.txt"): sha256(b"gone\n"),
              PurePosixPath("out/already-deleted.txt"): sha256(b"x")}
    decisions = plan_changes(tmp_path, [Wanted(PurePosixPath("out/kept.txt"), "kept\n"),
                                        Wanted(PurePosixPath("out/new.txt"), "new\n")],
                             locked, Wanted(PurePosixPath("out/.lock"), "{}\n"))
    assert [(str(d.path), d.status) for d in decisions] == [
        ("out/kept.txt", Status.IDENTICAL),
        ("out/new.txt", Status.CREATE),
        ("out/gone.txt", Status.REMOVE),
        ("out/.lock", Status.CREATE),
    ]


def test_the_lock_file_is_never_unmanaged(tmp_path: Path) -> None:
    (tmp_path / ".lock").write_text("old\n")
    decisions = plan_changes(tmp_path, [], {}, Wanted(PurePosixPath(".lock"), "new\n"))
    assert decisions[-1].status is Status.UPDATE


def test_apply_writes_removes_and_prunes_empty_folders(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "orphan.txt").write_text("x")
    (tmp_path / "keep").mkdir()
    apply([
        (tmp_path, Decision(PurePosixPath("new/file.sh"), Status.CREATE, "#!/bin/sh\n", None, True)),
        (tmp_path, Decision(PurePosixPath("a/b/orphan.txt"), Status.REMOVE, None, "x")),
        (tmp_path, Decision(PurePosixPath("keep/same.txt"), Status.IDENTICAL, "s", "s")),
    ])
    assert (tmp_path / "new" / "file.sh").read_text() == "#!/bin/sh\n"
    assert (tmp_path / "new" / "file.sh").stat().st_mode & 0o777 == 0o755
    assert not (tmp_path / "a").exists()
    assert (tmp_path / "keep").is_dir() and not (tmp_path / "keep" / "same.txt").exists()
    assert not list(tmp_path.rglob("*.mlops-tmp-*"))


def test_apply_leaves_the_tree_alone_when_a_write_fails(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text("before\n")
    (tmp_path / "blocked").write_text("a file where a folder must go\n")
    with pytest.raises(OSError):
        apply([
            (tmp_path, Decision(PurePosixPath("ok.txt"), Status.UPDATE, "after\n", "before\n")),
            (tmp_path, Decision(PurePosixPath("blocked/x.txt"), Status.CREATE, "x\n", None)),
        ])
    assert (tmp_path / "ok.txt").read_text() == "before\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocked", "ok.txt"]


def test_unified_diff_names_both_sides() -> None:
    decision = Decision(PurePosixPath("g/x.yaml"), Status.EDITED, "a: 1\nb: 2\n", "a: 1\nb: 3")
    assert unified_diff(decision, "mlops.yaml") == (
        "--- g/x.yaml (on disk)\n"
        "+++ g/x.yaml (compiled from mlops.yaml)\n"
        "@@ -1,2 +1,2 @@\n"
        " a: 1\n"
        "-b: 3\n"
        "\\ No newline at end of file\n"
        "+b: 2\n"
    )
