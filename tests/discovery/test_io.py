"""Atomic writers: a destination is either fully written or untouched, and no temporary file is left behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from discovery.io import atomic_path, atomic_write_bytes, atomic_write_text, remove_temporaries


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_write_text_creates_file_with_exact_newlines(tmp_path: Path) -> None:
    out = atomic_write_text(tmp_path / "a.json", '{"x": 1}\n\r\n')
    assert out == tmp_path / "a.json"
    assert out.read_bytes() == b'{"x": 1}\n\r\n'
    assert _leftovers(tmp_path) == []


def test_write_bytes_replaces_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "blob.bin"
    target.write_bytes(b"old content that is longer")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert _leftovers(tmp_path) == []


def test_write_creates_missing_parent_folders(tmp_path: Path) -> None:
    target = tmp_path / "results" / "run1" / "x.csv"
    atomic_write_text(target, "t,x\n")
    assert target.read_text() == "t,x\n"


def test_atomic_path_yields_sibling_with_same_suffix(tmp_path: Path) -> None:
    target = tmp_path / "plot.png"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path
        assert tmp.suffix == ".png"
        assert tmp.exists() and tmp.stat().st_size == 0
        assert not target.exists()  # nothing visible until the block succeeds
        tmp.write_bytes(b"\x89PNG")
    assert target.read_bytes() == b"\x89PNG"
    assert not tmp.exists()


@pytest.mark.parametrize("error", [RuntimeError("writer failed"), KeyboardInterrupt()])
def test_failure_keeps_old_content_and_removes_temporary(tmp_path: Path, error: BaseException) -> None:
    target = tmp_path / "result.json"
    target.write_text("previous")
    with pytest.raises(type(error)):
        with atomic_path(target) as tmp:
            tmp.write_text("half-writ")
            raise error
    assert target.read_text() == "previous"
    assert _leftovers(tmp_path) == []


def test_failure_leaves_no_file_when_target_was_absent(tmp_path: Path) -> None:
    target = tmp_path / "new.csv"
    with pytest.raises(ValueError):
        with atomic_path(target) as tmp:
            tmp.write_text("t,x\n0,")
            raise ValueError("boom")
    assert list(tmp_path.iterdir()) == []


def test_writer_that_deletes_temporary_is_reported(tmp_path: Path) -> None:
    target = tmp_path / "gone.txt"
    with pytest.raises(FileNotFoundError):
        with atomic_path(target) as tmp:
            tmp.unlink()
    assert not target.exists()


def test_folder_as_target_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError, match="expected a file path"):
        atomic_write_text(tmp_path, "x")


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_file_mode_follows_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        out = atomic_write_text(tmp_path / "m.txt", "x")
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o644


def test_concurrent_temporaries_do_not_collide(tmp_path: Path) -> None:
    target = tmp_path / "same.txt"
    with atomic_path(target) as a, atomic_path(target) as b:
        assert a != b
        a.write_text("A")
        b.write_text("B")
    assert target.read_text() == "A"  # the outer block finishes last and wins
    assert _leftovers(tmp_path) == []


def test_a_name_at_the_file_system_limit_is_written(tmp_path: Path) -> None:
    name = "é" * 125 + ".json"  # 255 bytes: the longest name most file systems allow
    assert atomic_write_text(tmp_path / name, "{}\n").read_text() == "{}\n"
    assert _leftovers(tmp_path) == []


def test_a_killed_writers_temporaries_are_removed_and_nothing_else(tmp_path: Path) -> None:
    targets = [tmp_path / "a[1].json", tmp_path / ("r" * 200 + ".json")]
    strays = []
    for target in targets:
        with atomic_path(target) as tmp:  # the name a writer killed inside this block would leave
            strays.append(tmp)
        tmp.write_text("half")
    others = [tmp_path / ".a[1].json.bak", tmp_path / ".b.0000abcd.tmp.json", tmp_path / ".a[1].0000abcd.tmp.png"]
    for other in others:
        other.write_text("mine")
    assert [remove_temporaries(t) for t in targets] == [1, 1]
    assert not any(s.exists() for s in strays)
    assert all(p.exists() for p in others + targets)
