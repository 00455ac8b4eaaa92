"""CIFAR-10-FSDE / -FSGAN on a tiny CIFAR-10: FITYMI's released file by default for FSDE,
nearbench's own generated fakes for FSGAN (and for FSDE a parameter away)."""

import numpy as np
import pytest

from bench import registry
from bench.context import RunContext
from bench.errors import UserError
from tests.conftest import run_cli
from tests.tiny_data import checksums_of, write_cifar10, write_fake_bank

CIFAR10 = registry.datasets.get("cifar10").factory
CHEAP = {"generator_steps": 3, "quality": False}


@pytest.fixture
def root(tmp_path, monkeypatch):
    folder = write_cifar10(tmp_path)  # 15 training and 2 test images per class
    monkeypatch.setattr(CIFAR10, "files", checksums_of(CIFAR10, folder))
    (tmp_path / "fitymi").mkdir()
    return tmp_path


def test_released_fsde_file_is_sliced_by_the_number_of_normal_test_images(root):
    adapter = registry.datasets.get("cifar10-fsde").factory
    write_fake_bank(root / "fitymi/cifar10_fsde.npy", per_class=2)  # class c's fakes hold the value c
    split = adapter().split(6, RunContext(data_root=root))
    assert split.sizes == {"train": 15, "test": 2 + 2, "test_normal": 2, "test_anomalous": 2}
    fakes = [np.asarray(split.test[i]) for i in np.flatnonzero(split.is_anomaly)]
    assert all((fake == 6).all() for fake in fakes)  # class 6's slice of the file
    assert set(split.anomaly_class[split.is_anomaly]) == {"fake"}
    assert split.metadata["test_fakes"]["slice"] == [12, 2] and len(split.metadata["test_fakes"]["sha256"]) == 64


@pytest.mark.parametrize("name, generator", [("cifar10-fsgan", "dcgan"), ("cifar10-fsde", "diffusion")])
def test_generated_sets_test_on_the_benchmark_stream(root, tmp_path, name, generator):
    adapter = registry.datasets.get(name).factory(**CHEAP, bank_path=None)
    split = adapter.split(2, RunContext(data_root=root, cache_dir=tmp_path / "cache"))
    assert split.sizes["test_normal"] == split.sizes["test_anomalous"] == 2
    fakes = split.metadata["test_fakes"]
    # the smoke generator works at 8 px at most; its fakes are resized to CIFAR's 32
    assert (fakes["generator"], fakes["stream"], fakes["params"]["image_size"]) == (generator, "benchmark", 8)
    assert np.asarray(split.test[3]).shape == (32, 32, 3)


def test_bank_format_is_checked(root):
    adapter = registry.datasets.get("cifar10-fsde").factory
    np.save(root / "fitymi/cifar10_fsde.npy", np.zeros((15, 32, 32, 3), dtype=np.uint8))  # too short for class 9
    with pytest.raises(UserError, match="class 9 takes images 18–19"):
        adapter().split(9, RunContext(data_root=root))
    np.save(root / "fitymi/cifar10_fsde.npy", np.zeros((20, 32, 32, 3), dtype=np.float32))
    with pytest.raises(UserError, match="expected uint8"):
        adapter().split(0, RunContext(data_root=root))
    np.save(root / "fitymi/cifar10_fsde.npy", np.array([{"a": 1}] * 20, dtype=object))
    with pytest.raises(UserError, match=r"it holds Python objects \(a pickle\)"):
        adapter().split(0, RunContext(data_root=root))


def test_missing_released_file_explains_both_ways(tmp_path, results):
    status, _, err = run_cli("run", "--methods", "dn2", "--datasets", "cifar10-fsde", "--data-root", str(tmp_path),
                             "--results", str(results))
    assert status == 2 and "fitymi/cifar10_fsde.npy" in err and "bank_path=null" in err
