"""Atomic writes: whole or nothing, and readable as the user's umask says."""

import os
import stat

import pytest

from bench.atomic import atomic_write, write_json


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_files_get_the_permissions_the_umask_gives(tmp_path, mask, mode):
    previous = os.umask(mask)
    try:
        write_json(tmp_path / "a" / "record.json", {"x": 1})
        with atomic_write(tmp_path / "bank.npy") as handle:
            handle.write(b"data")
    finally:
        os.umask(previous)
    for path in (tmp_path / "a" / "record.json", tmp_path / "bank.npy"):
        assert stat.S_IMODE(path.stat().st_mode) == mode, path


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "record.json"
    write_json(target, {"old": True})
    with pytest.raises(ValueError):
        write_json(target, {"bad": float("nan")})  # JSON has no NaN
    assert target.read_text() == '{\n "old": true\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]
