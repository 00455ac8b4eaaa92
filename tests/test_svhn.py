"""SVHN adapter on tiny .mat files in the real format."""

import hashlib

import numpy as np
import pytest
from scipy.io import savemat

from bench import registry
from bench.context import RunContext
from bench.datafiles import DataFile
from bench.errors import UserError

SVHN = registry.datasets.get("svhn").factory


def write_svhn(folder, per_class=(3, 2)):
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for name, count in (("train_32x32.mat", per_class[0]), ("test_32x32.mat", per_class[1])):
        digits = np.repeat(np.arange(10), count)
        labels = np.where(digits == 0, 10, digits).reshape(-1, 1)  # SVHN writes 0 as 10
        images = rng.integers(0, 256, size=(32, 32, 3, len(digits)), dtype=np.uint8)
        savemat(folder / name, {"X": images, "y": labels.astype(np.uint8)})
    return folder


def test_split_from_mat_files(tmp_path, monkeypatch):
    folder = write_svhn(tmp_path / "svhn")
    files = tuple(DataFile(f.path, md5=hashlib.md5((folder / f.path).read_bytes()).hexdigest()) for f in SVHN.files)
    monkeypatch.setattr(SVHN, "files", files)
    split = SVHN().split(0, RunContext(data_root=tmp_path))
    assert split.sizes == {"train": 3, "test": 20, "test_normal": 2, "test_anomalous": 18}
    assert np.asarray(split.test[0]).shape == (32, 32, 3)
    assert sorted(set(split.anomaly_class[split.is_anomaly])) == [str(d) for d in range(1, 10)]


def test_wrong_files_are_refused(tmp_path):
    write_svhn(tmp_path / "svhn")
    with pytest.raises(UserError, match=r"train_32x32.mat \(corrupt\)"):
        SVHN().split(0, RunContext(data_root=tmp_path))
