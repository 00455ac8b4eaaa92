"""SVHN adapter on tiny .mat files in the real format."""

import numpy as np
import pytest

from bench import registry
from bench.context import RunContext
from bench.errors import UserError
from tests.tiny_data import checksums_of, write_svhn

SVHN = registry.datasets.get("svhn").factory


def test_split_from_mat_files(tmp_path, monkeypatch):
    folder = write_svhn(tmp_path / "svhn")
    monkeypatch.setattr(SVHN, "files", checksums_of(SVHN, folder))
    split = SVHN().split(0, RunContext(data_root=tmp_path))
    assert split.sizes == {"train": 3, "test": 20, "test_normal": 2, "test_anomalous": 18}
    assert np.asarray(split.test[0]).shape == (32, 32, 3)
    assert sorted(set(split.anomaly_class[split.is_anomaly])) == [str(d) for d in range(1, 10)]


def test_wrong_files_are_refused(tmp_path):
    write_svhn(tmp_path / "svhn")
    with pytest.raises(UserError, match=r"train_32x32.mat \(corrupt\)"):
        SVHN().split(0, RunContext(data_root=tmp_path))
