"""MNIST and Fashion-MNIST adapters on tiny idx .gz files in the real format."""

import numpy as np
import pytest

from bench import registry
from bench.context import RunContext
from bench.datafiles import Archive
from bench.errors import UserError
from tests.conftest import run_cli
from tests.tiny_data import checksums_of, write_idx


@pytest.mark.parametrize("name, first_class", [("mnist", "0"), ("fmnist", "T-shirt/top")])
def test_split_from_idx_files(tmp_path, monkeypatch, name, first_class):
    adapter = registry.datasets.get(name).factory
    folder = write_idx(tmp_path / adapter.folder)
    monkeypatch.setattr(adapter, "files", checksums_of(adapter, folder))
    split = adapter().split(0, RunContext(data_root=tmp_path))
    assert split.sizes == {"train": 4, "test": 30, "test_normal": 3, "test_anomalous": 27}
    assert split.class_name == first_class
    assert np.asarray(split.train[0]).shape == (28, 28)
    assert len(set(split.anomaly_class[split.is_anomaly])) == 9


def test_corrupt_gz_is_refused(tmp_path, monkeypatch):
    adapter = registry.datasets.get("mnist").factory
    folder = write_idx(tmp_path / adapter.folder)
    monkeypatch.setattr(adapter, "files", checksums_of(adapter, folder))
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b broken")
    with pytest.raises(UserError, match=r"t10k-labels-idx1-ubyte.gz \(corrupt\)"):
        adapter().split(0, RunContext(data_root=tmp_path))


def test_fetch_places_each_file(tmp_path, monkeypatch, http_root):
    served, url = http_root
    adapter = registry.datasets.get("mnist").factory
    made = write_idx(served)
    files = checksums_of(adapter, made)
    monkeypatch.setattr(adapter, "files", files)
    monkeypatch.setattr(adapter, "archives", tuple(Archive(f"{url}/{f.path}", md5=f.md5, destination=adapter.folder) for f in files))
    data_root = tmp_path / "data"
    status, out, err = run_cli("data", "--data-root", str(data_root), "fetch", "mnist", "--quiet")
    assert status == 0, err
    assert adapter().split(3, RunContext(data_root=data_root)).sizes["train"] == 4
