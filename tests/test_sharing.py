"""A results folder and a cache written under umask 022 read in full as another user."""

import os
import stat

from bench.store import Store
from tests.conftest import as_another_user, run_cli


def test_results_and_caches_written_under_umask_022_read_in_full_as_another_user(shared_tmp, monkeypatch):
    results, cache = shared_tmp / "results", shared_tmp / "cache"
    monkeypatch.setenv("BENCH_CACHE", str(cache))
    previous = os.umask(0o022)
    try:
        status, out, err = run_cli(
            "run", "--methods", "dn2,fitymi-dcgan", "--datasets", "digits", "--classes", "0", "--quiet",
            "--executor", "inline", "--results", str(results), "--set", "digits.test_fraction=0.2",
            "--set", 'fitymi-dcgan.generator_params={"train_steps": 5}', "--set", "fitymi-dcgan.epochs=1",
        )
    finally:
        os.umask(previous)
    assert status == 0, err
    written = [p for root in (results, cache) for p in root.rglob("*")]
    kinds = {p.suffix for p in written if p.is_file()}
    assert {".json", ".npy", ".png"} <= kinds, kinds  # records, features and a fake bank, its grid
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in written}
    assert {p: m for p, m in modes.items() if m != (0o755 if p.is_dir() else 0o644)} == {}

    def read_everything():
        scan = Store(results).scan()
        contents = {str(p): len(p.read_bytes()) for root in (results, cache) for p in root.rglob("*") if p.is_file()}
        return len(scan.records), len(scan.unusable), contents

    records, unusable, contents = as_another_user(read_everything)
    assert (records, unusable) == (2, 0)
    assert contents == {str(p): p.stat().st_size for p in written if p.is_file()}
    status, out, err = run_cli("table", "--results", str(results))
    assert status == 0 and "dn2" in out and "fitymi-dcgan" in out and "warning" not in err
