"""Unusable places found before the first cell, and a disk that fills up mid-sweep.

Read-only and full filesystems are real: small tmpfs mounts (the tests run as root in CI;
where mounting is not allowed they are skipped with that reason)."""

from __future__ import annotations

import contextlib
import json
import subprocess

import pytest

from bench.store import Store
from tests.conftest import run_cli

RUN = ("run", "--methods", "dn2", "--classes", "0", "--quiet", "--executor", "inline")


@contextlib.contextmanager
def tmpfs(path, options: str):
    """A tmpfs mounted at `path` (created) with mount `options`; skips the test where
    mounting is not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True)
    if mounted.returncode:
        pytest.skip(f"needs to mount a tmpfs (root): {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_a_results_root_that_is_a_file_is_refused_before_anything_runs(tmp_path):
    target = tmp_path / "results"
    target.write_text("not a folder")
    status, out, err = run_cli(*RUN, "--results", str(target))
    assert status == 2 and out == "" and f"the results root {target} is a file" in one_line(err)
    status, _, err = run_cli(*RUN, "--results", str(target / "below"))
    assert status == 2 and "cannot be made" in one_line(err) and "--results DIR" in err
    assert target.read_text() == "not a folder"


def test_a_read_only_results_root_or_cache_is_refused_naming_the_fix(tmp_path, monkeypatch):
    with tmpfs(tmp_path / "ro", "ro,size=1m") as read_only:
        status, _, err = run_cli(*RUN, "--results", str(read_only / "results"))
        line = one_line(err)
        assert status == 2 and "is not writable (it would be made in" in line and "read-only file system" in line
        monkeypatch.setenv("BENCH_CACHE", str(read_only / "cache"))
        status, _, err = run_cli(*RUN, "--results", str(tmp_path / "results"))
        assert status == 2 and "the cache ($BENCH_CACHE)" in one_line(err) and "--no-cache" in err
        assert not (tmp_path / "results").exists()
        status, out, err = run_cli(*RUN, "--results", str(tmp_path / "results"), "--no-cache")
        assert status == 0 and "1 done" in out, err


def test_a_disk_that_fills_up_stops_the_sweep_with_one_line_and_every_record_intact(tmp_path):
    with tmpfs(tmp_path / "small", "size=40k") as small:
        results = small / "results"
        status, out, err = run_cli("run", "--methods", "dn2,pyod-knn", "--classes", "all", "--seeds", "0,1",
                                   "--quiet", "--executor", "inline", "--no-cache", "--results", str(results))
        line = one_line(err)
        assert status == 1 and out == ""
        assert line.startswith("bench run: error: no space left on device writing ") and str(results) in line
        assert "finished records are intact" in line
        written = list(results.rglob("*.json"))
        assert 0 < len(written) < 40
        for path in written:
            assert json.loads(path.read_text())["status"] == "ok"
        assert len(list(Store(results).records())) == len(written)
        assert not [p for p in results.rglob(".*") if p.is_file()]  # no temporary file left behind
