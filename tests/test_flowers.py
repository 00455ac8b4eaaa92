"""Flowers-102 adapter on tiny .mat files and JPEGs in the real layout."""

import numpy as np
import pytest
from scipy.io import savemat

from bench import registry
from bench.context import RunContext
from bench.errors import UserError
from tests.tiny_data import checksums_of, write_flowers

FLOWERS = registry.datasets.get("flowers102").factory


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setattr(FLOWERS, "files", checksums_of(FLOWERS, write_flowers(tmp_path)))
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
