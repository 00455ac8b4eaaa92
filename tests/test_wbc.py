"""WBC adapter on a tiny copy of the repository's layout: BMPs and the labels CSV."""

import pytest

from bench import registry
from bench.context import RunContext
from bench.errors import UserError
from tests.tiny_data import wbc_root

WBC = registry.datasets.get("wbc").factory


@pytest.fixture
def root(tmp_path, monkeypatch):
    wbc_root(tmp_path).apply(monkeypatch)  # 10 neutrophils, 3 lymphocytes, 2 monocytes, 2 eosinophils, 1 basophil
    return tmp_path


def test_seeded_fraction_of_neutrophils_against_the_rest(root):
    split = WBC().split(0, RunContext(data_root=root))
    assert split.sizes == {"train": 7, "test": 3 + 3 + 2 + 2, "test_normal": 3, "test_anomalous": 7}
    assert "basophil" not in set(split.anomaly_class)
    assert [p for p in split.train.paths] == [p for p in WBC().split(0, RunContext(data_root=root)).train.paths]  # seeded
    assert split.train[0].mode == "RGB"


def test_bad_csv_is_one_clear_error(root, monkeypatch):
    labels = root / "segmentation_WBC" / "Class Labels of Dataset 1.csv"
    labels.write_text("id;label\n1;1\n")
    with pytest.raises(UserError, match=r"Class Labels of Dataset 1.csv \(corrupt\).*bench data fetch wbc"):
        WBC().split(0, RunContext(data_root=root))  # the pinned commit's checksum catches it first
    wbc_root(root / "other").apply(monkeypatch)  # with a checksum that matches it, the reader still says what it expects
    monkeypatch.setattr(WBC, "files", tuple(f.__class__(f.path) for f in WBC.files))
    with pytest.raises(UserError, match="expected columns"):
        WBC().split(0, RunContext(data_root=root))
