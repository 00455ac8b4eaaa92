"""CUB-200-2011 adapter on its official text files and JPEGs, tiny."""

import numpy as np
import pytest
from PIL import Image

from bench import registry
from bench.context import RunContext
from bench.errors import UserError

CUB = registry.datasets.get("cub200").factory


@pytest.fixture
def root(tmp_path):
    base = tmp_path / "CUB_200_2011"
    rows = [(1, "001.Albatross/a.jpg", 1, 1), (2, "001.Albatross/b.jpg", 1, 0), (3, "002.Auklet/c.jpg", 2, 1),
            (4, "002.Auklet/d.jpg", 2, 0), (5, "003.Cowbird/e.jpg", 3, 0), (6, "001.Albatross/f.jpg", 1, 1)]
    for _, path, _, _ in rows:
        (base / "images" / path).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((5, 7, 3), dtype=np.uint8)).save(base / "images" / path)
    (base / "images.txt").write_text("".join(f"{i} {p}\n" for i, p, _, _ in rows))
    (base / "image_class_labels.txt").write_text("".join(f"{i} {c}\n" for i, _, c, _ in rows))
    (base / "train_test_split.txt").write_text("".join(f"{i} {t}\n" for i, _, _, t in rows))
    return tmp_path


def test_official_train_images_of_one_species_against_the_test_split(root):
    split = CUB().split(0, RunContext(data_root=root))
    assert split.sizes == {"train": 2, "test": 3, "test_normal": 1, "test_anomalous": 2}
    assert sorted(split.anomaly_class[split.is_anomaly]) == ["bird-002", "bird-003"]
    assert split.train[0].size == (7, 5)


def test_inconsistent_tables_are_one_clear_error(root):
    (root / "CUB_200_2011" / "train_test_split.txt").write_text("1 1\n2 0\n")
    with pytest.raises(UserError, match="list different image ids"):
        CUB().split(0, RunContext(data_root=root))
    (root / "CUB_200_2011" / "images.txt").write_text("one two\n")
    with pytest.raises(UserError, match=r"images.txt:1: expected"):
        CUB().split(0, RunContext(data_root=root))


def test_test_classes_limits_the_test_split(root):
    split = CUB(test_classes=2).split(0, RunContext(data_root=root))
    assert split.sizes["test"] == 2 and set(split.anomaly_class[split.is_anomaly]) == {"bird-002"}
