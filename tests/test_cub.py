"""CUB-200-2011 adapter on its official text files and JPEGs, tiny."""

import pytest

from bench import registry
from bench.context import RunContext
from bench.errors import UserError
from tests.tiny_data import write_cub

CUB = registry.datasets.get("cub200").factory


@pytest.fixture
def root(tmp_path):
    write_cub(tmp_path)  # species 1: a, f train, b test; species 2: c train, d test; species 3: e test
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


def test_normal_species_makes_the_first_species_one_normal_class(root):
    # PANDA#1's reading with N = 2: species 1 and 2 train together; species 3 is the anomaly
    split = CUB(normal_species=2).split(0, RunContext(data_root=root))
    assert split.sizes == {"train": 3, "test": 3, "test_normal": 2, "test_anomalous": 1}
    assert list(split.anomaly_class[split.is_anomaly]) == ["bird-003"]
    assert split.class_name == "species 1-2"
    assert CUB(normal_species=2).class_names(root) == ("species 1-2",)
    assert CUB(normal_species=2).max_train_images == 60
    with pytest.raises(UserError, match="one normal class, 0"):
        CUB(normal_species=2).split(1, RunContext(data_root=root))


def test_normal_species_is_checked_and_plans_one_class(root):
    from bench.plan import make_plan

    plan = make_plan("dn2", "cub200", data_root=root, overrides=["cub200.normal_species=2"])
    assert [(c.normal_class, c.class_name) for c in plan.cells] == [(0, "species 1-2")]
    for bad, why in (("0", "from 1 to 199"), ("200", "from 1 to 199"), ("1.5", "valid integer")):
        with pytest.raises(UserError, match=f"normal_species.*{why}"):
            make_plan("dn2", "cub200", data_root=root, overrides=[f"cub200.normal_species={bad}"])
