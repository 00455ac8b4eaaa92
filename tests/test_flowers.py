"""Flowers-102 adapter on tiny .mat files and JPEGs in the real layout."""

import hashlib

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat

from bench import registry
from bench.context import RunContext
from bench.datafiles import DataFile
from bench.errors import UserError

FLOWERS = registry.datasets.get("flowers102").factory


@pytest.fixture
def root(tmp_path, monkeypatch):
    base = tmp_path / "flowers-102"
    (base / "jpg").mkdir(parents=True)
    labels = np.array([1, 1, 2, 2, 3, 3, 1, 2, 3, 1, 2, 3])  # 1-based, image ids 1..12
    for image_id in range(1, 13):
        Image.fromarray(np.full((8, 8, 3), image_id, dtype=np.uint8)).save(base / "jpg" / f"image_{image_id:05d}.jpg")
    savemat(base / "imagelabels.mat", {"labels": labels})
    savemat(base / "setid.mat", {"trnid": np.array([1, 3, 5]), "valid": np.array([2, 4, 6]), "tstid": np.arange(7, 13)})
    files = tuple(
        DataFile(f.path, md5=hashlib.md5((base / f.path).read_bytes()).hexdigest() if f.md5 else None) for f in FLOWERS.files
    )
    monkeypatch.setattr(FLOWERS, "files", files)
    return tmp_path


def test_train_and_val_of_one_class_against_the_test_split(root):
    split = FLOWERS().split(0, RunContext(data_root=root))  # class 0 = label 1: ids 1, 2 in train/val; 7, 10 in test
    assert split.sizes == {"train": 2, "test": 6, "test_normal": 2, "test_anomalous": 4}
    assert split.class_name == "pink primrose"  # the names published with the dataset
    assert sorted(set(split.anomaly_class[split.is_anomaly])) == ["canterbury bells", "hard-leaved pocket orchid"]
    only_train = FLOWERS(train_splits=("train",)).split(0, RunContext(data_root=root))
    assert only_train.sizes["train"] == 1


def test_a_changed_label_file_is_refused(root):
    savemat(root / "flowers-102" / "imagelabels.mat", {"labels": np.ones(12)})
    with pytest.raises(UserError, match=r"imagelabels.mat \(corrupt\)"):
        FLOWERS().split(0, RunContext(data_root=root))
