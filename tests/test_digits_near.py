"""The embedded near-distribution sets: real held-out digits against generated ones, and
the worst-class aggregation."""

from __future__ import annotations

import csv
import io
import json
import shutil

import numpy as np
import pytest

from bench import registry
from bench.datasets.digits import Digits
from bench.context import RunContext
from bench.generators import generator_params, generators
from bench.generators.bank import BankRequest, fake_bank
from tests.conftest import run_cli

CHEAP = {"train_steps": 20}


def near(name: str):
    return registry.datasets.get(name).factory(generator_steps=20)


@pytest.mark.parametrize("name, generator", [("digits-fsde", "diffusion"), ("digits-fsgan", "dcgan")])
def test_held_out_real_digits_against_as_many_fakes(name, generator, tmp_path):
    ctx = RunContext(cache_dir=tmp_path / "cache")
    split = near(name).split(4, ctx)
    reference = Digits().split(4, ctx)
    real = reference.test.array[~reference.is_anomaly]  # the held-out 4s of the digits split
    n = len(real)
    assert split.sizes == {"train": len(reference.train), "test": 2 * n, "test_normal": n, "test_anomalous": n}
    test = split.test.array
    np.testing.assert_array_equal(test[:n], real)
    assert test.shape[1:] == (8, 8) and test.dtype == np.uint8
    assert set(split.anomaly_class[n:]) == {"fake"}
    banks = list((tmp_path / "cache" / "fakes").rglob(f"{generator}-*-benchmark-s0-n{n}.npy"))
    assert len(banks) == 1
    np.testing.assert_array_equal(np.load(banks[0])[..., 0], test[n:])


def test_bank_is_built_once_reproducible_and_not_a_methods_bank(tmp_path, monkeypatch):
    ctx = RunContext(cache_dir=tmp_path / "cache")
    fits = []
    cls = generators.get("dcgan").factory
    original_fit = cls.fit
    monkeypatch.setattr(cls, "fit", lambda self, *a: fits.append(1) or original_fit(self, *a))
    dataset = near("digits-fsgan")
    first = dataset.split(2, ctx)
    second = dataset.split(2, ctx)
    assert len(fits) == 1 and first.test.key == second.test.key
    np.testing.assert_array_equal(first.test.array, second.test.array)

    shutil.rmtree(tmp_path / "cache")  # rebuilt from its seed: the same test set
    np.testing.assert_array_equal(dataset.split(2, ctx).test.array, first.test.array)
    assert len(fits) == 2

    n = int(first.is_anomaly.sum())
    method_bank, _ = fake_bank(  # what FITYMI would train on with the same seed and generator
        first.train, BankRequest("dcgan", generator_params("dcgan", "smoke", CHEAP), n, seed=0), RunContext()
    )
    assert not np.array_equal(method_bank[..., 0], first.test.array[n:])

    other_seed = registry.datasets.get("digits-fsgan").factory(generator_steps=20, generator_seed=1)
    other = other_seed.split(2, ctx)
    assert other.test.key != first.test.key and not np.array_equal(other.test.array, first.test.array)


def test_the_split_trains_its_generator_with_the_runs_device_and_cache_switch(tmp_path, monkeypatch):
    """The near set's generator gets the run's context: its device, and no cache with --no-cache."""
    seen = []
    cls = generators.get("dcgan").factory
    original_fit = cls.fit
    monkeypatch.setattr(cls, "fit", lambda self, images, ctx: seen.append(ctx) or original_fit(self, images, ctx))
    dataset = near("digits-fsgan")
    cached = RunContext(device="cpu", cache_dir=tmp_path / "cache", progress=lambda it, **kw: it)
    dataset.split(1, cached)
    assert (seen[-1].device, seen[-1].progress) == (cached.device, cached.progress)
    assert list((tmp_path / "cache" / "fakes").rglob("*.npy"))
    uncached = RunContext(device="cpu", cache_dir=tmp_path / "cache", use_cache=False)
    dataset.split(1, uncached)
    dataset.split(1, uncached)
    assert len(seen) == 3 and all(not c.use_cache for c in seen[1:])  # trained each time: --no-cache keeps no bank
    assert len(list((tmp_path / "cache" / "fakes").rglob("*.npy"))) == 1


def test_worst_class_is_the_headline_of_digits_worst(results):
    status, _, err = run_cli("run", "--methods", "dn2", "--datasets", "digits,digits-worst", "--classes", "1,8",
                             "--results", str(results), "--executor", "inline", "--quiet")
    assert status == 0, err
    records = {}
    for path in results.rglob("*.json"):
        record = json.loads(path.read_text())
        records[(record["cell"]["dataset"], record["cell"]["normal_class"])] = record
    for normal_class in (1, 8):
        plain, worst = records[("digits", normal_class)], records[("digits-worst", normal_class)]
        assert plain["metrics"] == worst["metrics"]  # the same split and scores
        assert (plain["headline"], worst["headline"]) == ("auroc", "auroc-worst")
    status, out, _ = run_cli("table", "--results", str(results), "--format", "csv")
    rows = {row["dataset"]: float(row["mean"]) / 100 for row in csv.DictReader(io.StringIO(out))}  # CSV in percent
    expected_worst = np.mean([min(records[("digits", c)]["metrics"]["auroc_per_class"].values()) for c in (1, 8)])
    assert rows["digits-worst"] == pytest.approx(expected_worst, abs=1e-6)
    assert rows["digits"] == pytest.approx(np.mean([records[("digits", c)]["metrics"]["auroc"] for c in (1, 8)]), abs=1e-6)
    assert rows["digits-worst"] < rows["digits"]


def test_near_sweep_shows_every_embedded_near_set_next_to_digits(results):
    status, _, err = run_cli(
        "run", "--methods", "fitymi*,dn2", "--datasets", "digits,near", "--classes", "6",
        "--set", "fitymi.epochs=2", "--set", "fitymi-dcgan.epochs=2", "--set", "fitymi-wgan-gp.epochs=2",
        "--set", "digits-fsde.generator_steps=20", "--set", "digits-fsgan.generator_steps=20",
        "--results", str(results), "--executor", "inline", "--quiet",
    )
    assert status == 0, err
    assert "skipping method fitymi-bank" in err and "cifar10-fsde" in err  # not named: skipped, said once
    status, table, _ = run_cli("table", "--results", str(results))
    header = next(line for line in table.splitlines() if line.startswith("| method"))
    for column in ("digits", "digits-fsde", "digits-fsgan", "digits-worst"):
        assert f" {column} " in header
    body = [line for line in table.splitlines() if line.startswith("| ")][1:]
    assert {line.split("|")[1].strip() for line in body} == {
        "dn2", "fitymi", "fitymi-dcgan", "fitymi-wgan-gp"
    }
