"""Archive extraction safe by itself (no reliance on Python's tar filters): every trick that
would land a file outside the data root is refused before anything is written, and an
extraction that stops half-way leaves nothing behind."""

from __future__ import annotations

import io
import tarfile

import pytest

from bench import extract
from bench.extract import UnsafeArchive, safe_extract


def archive_of(path, members):
    """A .tar.gz at `path` of `members`: (name, kind, data-or-linkname) with kind file, dir,
    sym, hard, chr or fifo."""
    with tarfile.open(path, "w:gz") as tar:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE,
                         "chr": tarfile.CHRTYPE, "fifo": tarfile.FIFOTYPE}[kind]
            if kind in ("sym", "hard"):
                info.linkname = payload
            tar.addfile(info)
    return path


UNSAFE = {
    "parent path": [("../escape.txt", "file", b"x")],
    "absolute path": [("/tmp/escape.txt", "file", b"x")],
    "dotdot inside the path": [("a/../../escape.txt", "file", b"x")],
    "symlink out": [("out", "sym", "../..")],
    "absolute symlink": [("etc", "sym", "/etc")],
    "chained symlinks": [("b", "sym", ".."), ("a", "sym", "b/escape.txt")],
    "chain built backwards": [("a", "sym", "b/c"), ("b", "sym", "..")],
    "file through a symlink": [("sub", "dir", None), ("link", "sym", "sub"), ("link/file.txt", "file", b"x")],
    "file through a chained link": [("x", "sym", "."), ("y", "sym", "x"), ("y/x/../../escape.txt", "file", b"x")],
    "parent-relative hard link": [("hard", "hard", "../../etc/passwd")],
    "hard link to a later member": [("hard", "hard", "later.txt"), ("later.txt", "file", b"x")],
    "hard link to a symlink": [("sym", "sym", "inside.txt"), ("inside.txt", "file", b"x"), ("hard", "hard", "sym")],
    "character device": [("null", "chr", None)],
    "fifo": [("pipe", "fifo", None)],
    "symlink loop": [("a", "sym", "b"), ("b", "sym", "a"), ("a/file", "file", b"x")],
}


@pytest.mark.parametrize("case", UNSAFE)
def test_an_unsafe_member_refuses_the_whole_archive_before_anything_is_written(tmp_path, case):
    members = [("good/first.txt", "file", b"kept out too"), *UNSAFE[case]]
    archive = archive_of(tmp_path / "evil.tar.gz", members)
    destination = tmp_path / "root" / "data"
    destination.mkdir(parents=True)
    with pytest.raises(UnsafeArchive, match="the archive is not the published one"):
        safe_extract(archive, destination)
    assert not list(destination.iterdir())  # not even the good member, nor a temporary folder
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "root" / "escape.txt").exists()


def test_a_safe_archive_with_links_extracts_whole(tmp_path):
    archive = archive_of(tmp_path / "good.tar.gz", [
        ("data", "dir", None), ("data/a.txt", "file", b"alpha"), ("data/alias.txt", "sym", "a.txt"),
        ("data/copy.txt", "hard", "data/a.txt"), ("./data/sub/b.txt", "file", b"beta"),
    ])
    destination = tmp_path / "root"
    (destination / "data").mkdir(parents=True)
    (destination / "data" / "kept.txt").write_text("already here")
    safe_extract(archive, destination)
    data = destination / "data"
    assert (data / "a.txt").read_bytes() == b"alpha" and (data / "alias.txt").read_bytes() == b"alpha"
    assert (data / "alias.txt").is_symlink() and (data / "copy.txt").read_bytes() == b"alpha"
    assert (data / "sub" / "b.txt").read_bytes() == b"beta" and (data / "kept.txt").read_text() == "already here"
    assert sorted(p.name for p in destination.iterdir()) == ["data"]  # no temporary folder left


def test_an_extraction_that_stops_half_way_leaves_nothing(tmp_path, monkeypatch):
    archive = archive_of(tmp_path / "big.tar.gz", [(f"part{i}.bin", "file", bytes([i]) * 100) for i in range(5)])
    destination = tmp_path / "root"
    real, calls = extract._extract, []

    def dies_on_the_third(tar, member, root):
        calls.append(member.name)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real(tar, member, root)

    monkeypatch.setattr(extract, "_extract", dies_on_the_third)
    with pytest.raises(OSError):
        safe_extract(archive, destination)
    assert not list(destination.iterdir())
