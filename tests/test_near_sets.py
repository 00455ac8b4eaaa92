"""Near-distribution sets from any dataset: `D-fsde`, `D-fsgan`, `D-worst` for built-in and
plug-in datasets alike, disjoint test and training fakes, and banks built once, as jobs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench import registry
from bench.context import RunContext
from tests.conftest import run_cli

CHEAP = ["--set", "*-fs*.generator_steps=5", "--set", "*-fs*.quality=false"]


@pytest.fixture
def readme_dataset():
    """The README's dataset plug-in (`datasets/noise.py`), registered as written there."""
    from tests.test_readme import example

    exec(compile(example("datasets/noise.py"), "README:datasets/noise.py", "exec"), {"__name__": "readme_noise"})
    yield
    registry.datasets.unregister("noise-vs-stripes")


def test_a_plugin_dataset_runs_as_its_near_sets_with_no_code_of_its_own(readme_dataset, results):
    assert {"noise-vs-stripes-fsde", "noise-vs-stripes-fsgan", "noise-vs-stripes-worst"} <= set(
        registry.datasets.select("noise-vs-stripes-*"))
    status, out, err = run_cli("run", "--methods", "dn2", "--datasets", "noise-vs-stripes-*", *CHEAP,
                               "--set", "noise-vs-stripes-*.n=20", "--results", str(results),
                               "--executor", "inline", "--quiet")
    assert status == 0, err
    records = {r["cell"]["dataset"]: r for r in map(json.loads, map(lambda p: p.read_text(), results.rglob("*.json")))}
    assert set(records) == {"noise-vs-stripes-fsde", "noise-vs-stripes-fsgan", "noise-vs-stripes-worst"}
    fsde = records["noise-vs-stripes-fsde"]
    assert fsde["sizes"]["test_normal"] == fsde["sizes"]["test_anomalous"] == 20
    assert fsde["test_fakes"]["generator"] == "diffusion" and fsde["test_fakes"]["stream"] == "benchmark"
    assert records["noise-vs-stripes-fsgan"]["test_fakes"]["generator"] == "dcgan"
    assert records["noise-vs-stripes-worst"]["headline"] == "auroc-worst"
    assert fsde["cell"]["dataset_params"]["n"] == 20  # the base dataset's parameters stay its own
    registry.datasets.unregister("noise-vs-stripes")
    assert "noise-vs-stripes-fsde" not in registry.datasets


def test_names_globs_groups_and_listing():
    fsde = registry.datasets.select("*-fsde")
    assert {"digits-fsde", "cifar10-fsde", "cifar100-fsde", "mnist-fsde", "mvtec-fsde"} <= set(fsde)
    assert "digits-fsde-fsde" not in fsde and "digits-worst-fsde" not in fsde
    assert "cifar10-vs-cifar100-worst" not in registry.datasets  # already worst-class: no variant
    assert "digits-fsde-worst" not in registry.datasets  # one anomaly class, "fake"
    # `near` keeps its meaning: the registered near-distribution sets, not every combination
    assert registry.datasets.select("near") == ["cifar10-fsde", "cifar10-fsgan", "cifar10-vs-cifar100", "digits-fsde",
                                                "digits-fsgan", "digits-worst", "stanford-cars"]
    assert "cifar100-fsde" not in registry.datasets.select("all")
    status, out, _ = run_cli("list", "datasets")
    assert status == 0 and "cifar100-fsde" not in out
    row = next(line for line in out.splitlines() if line.startswith("cifar100 "))
    assert "-fsde -fsgan -worst" in row
    assert "D-fsde" in out  # the footer says what the variants are
    status, _, err = run_cli("run", "--datasets", "cifar100-fsdee", "--dry-run")
    assert status == 2 and "cifar100-fsde" in err


@pytest.fixture
def cifar100_root(tmp_path, monkeypatch):
    from tests.tiny_data import cifar100_root as build

    build(tmp_path / "data").apply(monkeypatch)
    return tmp_path / "data"


def test_cifar100_fsde_plans_and_runs_on_tiny_cifar100(cifar100_root, results):
    argv = ["run", "--methods", "dn2", "--datasets", "cifar100-fsde", "--classes", "3", *CHEAP,
            "--data-root", str(cifar100_root), "--results", str(results), "--executor", "inline", "--quiet"]
    status, out, err = run_cli(*argv, "--dry-run")
    assert status == 0 and "cifar100-fsde/dn2/smoke" in out, err
    status, out, err = run_cli(*argv)
    assert status == 0, err
    record = json.loads(next(results.rglob("c3-s0.json")).read_text())
    assert record["sizes"] == {"train": 10, "test": 10, "test_normal": 5, "test_anomalous": 5}
    assert record["test_fakes"]["params"]["image_size"] == 8  # smoke: capped at 8 px, resized to CIFAR's 32


def test_test_fakes_are_never_a_methods_training_fakes(tmp_path):
    """For the same class, generator, parameters and seed, the near set's bank (stream
    benchmark) and a method's (stream method) share no image; `bench fakes --stream benchmark`
    makes the near set's own bank, as the hints say."""
    from bench.methods.fitymi import FITYMIDCGAN

    ctx = RunContext(cache_dir=tmp_path / "cache", profile="smoke")
    near = registry.datasets.get("digits-fsgan").factory(generator_steps=20, quality=False)
    split = near.split(5, ctx)
    test_fakes = split.test.array[split.is_anomaly]
    generator_params = split.metadata["test_fakes"]["params"]
    method = FITYMIDCGAN(**{**FITYMIDCGAN.profiles["smoke"], "generator_params": generator_params})
    training = method.training_fakes(split.train, RunContext(seed=0, cache_dir=tmp_path / "cache", profile="smoke"))
    assert method.train_fakes_["stream"] == "method" and len(training) == len(split.train)
    shared = {row.tobytes() for row in test_fakes} & {row[..., 0].tobytes() for row in training}
    assert not shared
    status, out, err = run_cli("fakes", "--dataset", "digits", "--class", "5", "--generator", "dcgan",
                               "--n", str(len(test_fakes)), "--set", "train_steps=20", "--stream", "benchmark",
                               "--no-quality", "--device", "cpu", "--quiet")
    assert status == 0, err
    made = Path(out.split("→ ")[1].split()[0])
    assert made.name == Path(split.metadata["test_fakes"]["path"]).name  # the very same bank (another cache folder)


def test_prepare_builds_each_bank_once_as_local_jobs(tmp_path, monkeypatch, results):
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    argv = ["--methods", "dn2", "--datasets", "digits-fsde,digits-fsgan", "--classes", "0,1", *CHEAP]
    status, out, err = run_cli("prepare", *argv, "--executor", "local", "--workers", "2", "--quiet")
    assert status == 0, err
    assert "fake banks: 4 needed, 0 already built" in out and "4 done, 0 skipped, 0 failed" in out
    banks = sorted((tmp_path / "cache" / "fakes").rglob("*-benchmark-*.npy"))
    assert len(banks) == 4
    stamps = {path: path.stat().st_mtime_ns for path in banks}
    status, out, err = run_cli("prepare", *argv, "--quiet")
    assert status == 0 and "fake banks: 4 needed, 4 already built" in out
    status, _, err = run_cli("run", *argv, "--results", str(results), "--executor", "inline", "--quiet")
    assert status == 0, err
    assert {path: path.stat().st_mtime_ns for path in (tmp_path / "cache" / "fakes").rglob("*-benchmark-*.npy")} == stamps


def test_prepare_builds_the_banks_as_slurm_array_tasks(tmp_path, monkeypatch):
    from bench.executors.slurm.state import Sweep
    from tests.cluster import cancel_sweeps, cluster_problem

    if cluster_problem() is not None:
        pytest.skip(cluster_problem())
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    builds = tmp_path / "cache" / "fakes" / "builds"
    try:
        status, out, err = run_cli("prepare", "--methods", "dn2", "--datasets", "digits-fsgan", "--classes", "0,1",
                                   *CHEAP, "--executor", "slurm", "--cells-per-job", "1", "--allow-dirty", "--wait",
                                   "--quiet")
        assert status == 0, err
        assert "fake banks: 2 done, 0 skipped, 0 failed" in out
        (sweep,) = Sweep.all(builds)
        assert len(sweep.submissions[0].tasks) == 2  # one array task per class
        records = [json.loads(p.read_text()) for p in builds.rglob("c*-s0.json")]
        assert sorted(r["cell"]["normal_class"] for r in records) == [0, 1]
        assert all(r["provenance"]["slurm_job_id"] and r["status"] == "ok" for r in records)
        assert len(list((tmp_path / "cache" / "fakes").rglob("dcgan-*-benchmark-*.npy"))) == 2
        status, out, _ = run_cli("prepare", "--methods", "dn2", "--datasets", "digits-fsgan", "--classes", "0,1",
                                 *CHEAP, "--executor", "slurm", "--allow-dirty", "--quiet")
        assert status == 0 and "2 needed, 2 already built" in out  # nothing submitted again
    finally:
        cancel_sweeps(builds)


def test_a_cell_waits_for_a_bank_another_process_is_building(tmp_path, monkeypatch):
    import fcntl
    import threading

    from bench.atomic import write_json
    from bench.generators import generator_params, generators
    from bench.generators.bank import BankRequest, fake_bank

    fits = []
    cls = generators.get("dcgan").factory
    monkeypatch.setattr(cls, "fit", lambda self, *a: fits.append(1))
    split = registry.datasets.get("digits").factory().split(1, RunContext())
    request = BankRequest("dcgan", generator_params("dcgan", "smoke"), n=4, seed=0, stream="benchmark").following(
        split.train)
    ctx = RunContext(cache_dir=tmp_path)
    path = request.path(tmp_path / "fakes", split.train)
    path.parent.mkdir(parents=True)
    got = []
    with open(path.with_suffix(".lock"), "a") as lock:  # another process is building this bank
        fcntl.flock(lock, fcntl.LOCK_EX)
        waiter = threading.Thread(target=lambda: got.append(fake_bank(split.train, request, ctx)))
        waiter.start()
        waiter.join(timeout=1.0)
        assert waiter.is_alive() and not got  # waiting on the lock, not training
        bank = np.full((4, 8, 8, 3), 7, np.uint8)  # what the other process wrote
        np.save(path, bank)
        write_json(path.with_suffix(".json"), request.identity(split.train))
        fcntl.flock(lock, fcntl.LOCK_UN)
    waiter.join(timeout=60)
    assert not fits and (got[0][0] == 7).all() and got[0][1] == path
