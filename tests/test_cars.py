"""Stanford Cars adapter on a tiny devkit (.mat) with images, in the real layout."""

import pytest

from bench import registry
from bench.context import RunContext
from tests.conftest import run_cli
from tests.tiny_data import checksums_of, write_cars

CARS = registry.datasets.get("stanford-cars").factory


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setattr(CARS, "files", checksums_of(CARS, write_cars(tmp_path)))
    return tmp_path


def test_one_model_against_the_test_split(root):
    split = CARS().split(1, RunContext(data_root=root))  # class index 1 = annotation class 2
    assert split.sizes == {"train": 1, "test": 5, "test_normal": 2, "test_anomalous": 3}
    assert split.test[0].size == (9, 6)
    assert split.class_name == "BMW M3"  # the devkit's names, not placeholders
    assert sorted(set(split.anomaly_class[split.is_anomaly])) == ["Audi A4", "Fiat 500"]


def test_fetch_prints_the_manual_steps(tmp_path):
    status, out, err = run_cli("data", "--data-root", str(tmp_path), "fetch", "stanford-cars")
    assert status == 2 and "jessicali9530/stanford-cars-dataset" in out and "car_devkit.tgz" in out


def test_test_classes_limits_the_test_split(root):
    split = CARS(test_classes=2).split(0, RunContext(data_root=root))
    assert split.sizes == {"train": 2, "test": 3, "test_normal": 1, "test_anomalous": 2}
