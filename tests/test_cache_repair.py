"""Self-repairing caches: a damaged or planted entry of each cache kind — backbone features,
fake banks, an unpacked archive — is discarded with one notice and made again; nothing is
ever unpickled from a cache (checkpoints: tests/test_resume.py)."""

from __future__ import annotations

import gzip
import pickle

import numpy as np
import pytest

from bench import registry
from bench.context import RunContext
from bench.generators.bank import BankRequest, fake_bank
from bench.plan import make_plan
from bench.settings import RunSettings
from bench.worker import CellWorker
from tests.test_resume import Planted


def plant_pickle(path, marker):
    """An object-array .npy whose unpickling would create `marker`."""
    np.save(path, np.array([Planted(marker)], dtype=object), allow_pickle=True)


DAMAGES = {
    "empty": lambda path, marker: path.write_bytes(b""),
    "truncated": lambda path, marker: path.write_bytes(path.read_bytes()[:100]),
    "wrong shape": lambda path, marker: np.save(path, np.zeros((3, 5), np.float32)),
    "wrong dtype": lambda path, marker: np.save(path, np.load(path).astype(np.float64)),
    "planted pickle": plant_pickle,
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_feature_cache_entry_is_rebuilt(tmp_path, damage, capsys):
    (cell,) = make_plan("dn2", "digits", classes="3").cells
    worker = CellWorker(tmp_path / "results", RunSettings(cache_dir=tmp_path / "cache"), rerun=True)
    first = worker(cell)
    entries = sorted((tmp_path / "cache" / "features").rglob("*.npy"))
    assert first["status"] == "ok" and len(entries) == 2  # train and test features
    marker = tmp_path / "pwned"
    DAMAGES[damage](entries[0], marker)
    capsys.readouterr()
    second = worker(cell)
    assert second["status"] == "ok", second.get("error")
    assert second["metrics"] == first["metrics"]
    assert not marker.exists()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and f"discarded the damaged cache entry {entries[0]}" in lines[0]
    assert np.load(entries[0]).dtype == np.float32  # made again, valid
    capsys.readouterr()
    assert worker(cell)["metrics"] == first["metrics"] and not capsys.readouterr().err  # used as it is now


@pytest.mark.parametrize("damage", ["empty", "truncated", "wrong shape", "planted pickle"])
def test_a_damaged_fake_bank_is_made_again(tmp_path, damage, capsys):
    train = registry.datasets.get("digits").factory().split(2, RunContext()).train
    ctx = RunContext(seed=0, cache_dir=tmp_path / "cache")
    request = BankRequest("dcgan", {**registry_generator("dcgan"), "train_steps": 2}, 12, 0)
    bank, path = fake_bank(train, request, ctx)
    marker = tmp_path / "pwned"
    DAMAGES[damage](path, marker)
    capsys.readouterr()
    again, same_path = fake_bank(train, request, ctx)
    assert same_path == path and not marker.exists()
    assert np.array_equal(again, bank)  # the same seed makes the same bank
    assert "discarded the damaged cache entry" in capsys.readouterr().err
    assert np.array_equal(np.load(path), bank)


def registry_generator(name):
    from bench.generators import generator_params

    return generator_params(name, "smoke")


def test_an_unpack_cut_short_is_found_by_verify_and_redone_by_the_next_run(tmp_path, monkeypatch, capsys):
    from tests.conftest import run_cli
    from tests.tiny_data import BUILDERS

    BUILDERS["mnist"](tmp_path).apply(monkeypatch)
    benchmark = registry.datasets.get("mnist").factory()
    benchmark.split(0, RunContext(data_root=tmp_path))  # unpacks
    raw = tmp_path / "MNIST" / "raw"
    unpacked = raw / "train-images-idx3-ubyte"
    whole = unpacked.read_bytes()
    assert whole == gzip.decompress((raw / "train-images-idx3-ubyte.gz").read_bytes())
    unpacked.write_bytes(whole[: len(whole) // 2])  # what an interrupted unpack used to leave

    status, out, _ = run_cli("data", "--data-root", str(tmp_path), "verify", "mnist")
    assert status == 1 and f"damaged {unpacked}" in out and "the next run unpacks it again" in out
    capsys.readouterr()
    split = benchmark.split(0, RunContext(data_root=tmp_path))
    assert unpacked.read_bytes() == whole and len(split.train) == 4
    assert f"discarded the damaged cache entry {unpacked}" in capsys.readouterr().err
    status, out, _ = run_cli("data", "--data-root", str(tmp_path), "verify", "mnist")
    assert status == 0 and "damaged" not in out

    marker = tmp_path / "pwned"  # a pickle planted in place of the unpacked file is never unpickled
    unpacked.write_bytes(pickle.dumps(Planted(marker)))
    assert len(benchmark.split(0, RunContext(data_root=tmp_path)).train) == 4
    assert unpacked.read_bytes() == whole and not marker.exists()
