"""CIFAR-10-FSDE / -FSGAN adapters on a tiny CIFAR-10 and a fake bank in FITYMI's format."""

import numpy as np
import pytest

from bench import registry
from bench.context import RunContext
from bench.errors import UserError
from tests.conftest import run_cli
from tests.tiny_data import checksums_of, write_cifar10, write_fake_bank

CIFAR10 = registry.datasets.get("cifar10").factory


@pytest.fixture
def root(tmp_path, monkeypatch):
    folder = write_cifar10(tmp_path)
    monkeypatch.setattr(CIFAR10, "files", checksums_of(CIFAR10, folder))
    (tmp_path / "fitymi").mkdir()
    return tmp_path


@pytest.mark.parametrize("name", ["cifar10-fsde", "cifar10-fsgan"])
def test_real_class_against_its_fakes(root, name):
    adapter = registry.datasets.get(name).factory
    write_fake_bank(root / adapter.bank_file, per_class=4)  # class c's fakes hold the value c
    split = adapter().split(6, RunContext(data_root=root))
    assert split.sizes == {"train": 15, "test": 2 + 4, "test_normal": 2, "test_anomalous": 4}
    fakes = [np.asarray(split.test[i]) for i in np.flatnonzero(split.is_anomaly)]
    assert all((fake == 6).all() for fake in fakes)  # class 6's slice of the bank
    assert set(split.anomaly_class[split.is_anomaly]) == {"fake"}


def test_bank_format_is_checked(root):
    adapter = registry.datasets.get("cifar10-fsde").factory
    np.save(root / adapter.bank_file, np.zeros((15, 32, 32, 3), dtype=np.uint8))  # not 10 × n
    with pytest.raises(UserError, match="multiple of 10"):
        adapter().split(0, RunContext(data_root=root))
    np.save(root / adapter.bank_file, np.zeros((10, 32, 32, 3), dtype=np.float32))
    with pytest.raises(UserError, match="expected uint8"):
        adapter().split(0, RunContext(data_root=root))
    np.save(root / adapter.bank_file, np.array([{"a": 1}] * 10, dtype=object))
    with pytest.raises(UserError, match=r"it holds Python objects \(a pickle\)"):
        adapter().split(0, RunContext(data_root=root))


def test_missing_bank_explains_how_to_make_one(tmp_path, results):
    status, _, err = run_cli("run", "--methods", "dn2", "--datasets", "cifar10-fsgan", "--data-root", str(tmp_path),
                             "--results", str(results))
    assert status == 2 and "fitymi/cifar10_fsgan.npy" in err and "bench data fetch cifar10-fsgan" in err
    status, out, err = run_cli("data", "--data-root", str(tmp_path), "fetch", "cifar10-fsgan")
    assert status == 2 and "no public file exists" in out and "must be fetched by hand" in err
